"""The arm64 .deb installs into a Debian bookworm arm64 root filesystem and runs there.

Every `make test` run: builds the package from this tree, then mmdebstrap (unshare mode, arm64
through qemu-user) makes a minbase root filesystem, installs the package with dpkg (its postinst
creates the users and enables the service) and runs check-installed.sh inside it, so
`centralino --version`, a config check and the bundled numpy/yaml/lgpio are executed as aarch64
code. Nothing is kept on disk but the report (the root filesystem goes to /dev/null).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import CACHE, rootfs, require

HERE = Path(__file__).resolve().parent
ELF_MACHINE_AARCH64 = 183
pytestmark = pytest.mark.image


@pytest.fixture(scope="module")
def report(deb_for, tmp_path_factory) -> Path:
    require(rootfs.environment_problem("arm64"))
    deb = deb_for("arm64")
    out = tmp_path_factory.mktemp("arm64-report")
    run = rootfs.Rootfs(
        arch="arm64", target="/dev/null", cache=CACHE, include=list(rootfs.DEB_DEPENDS),
        hooks=[("customize", f"upload {deb} /root/centralino.deb"),
               ("customize", 'chroot "$1" dpkg -i /root/centralino.deb'),
               ("customize", f"upload {HERE / 'check-installed.sh'} /root/check-installed.sh"),
               ("customize", 'chroot "$1" sh /root/check-installed.sh'),
               ("customize", f"copy-out /root/report {out}")])
    started = time.monotonic()
    try:
        run.run(out / "mmdebstrap.log")
    except rootfs.RootfsError as err:
        pytest.fail(str(err))
    print(f"mmdebstrap arm64 minbase + dpkg -i + checks: {time.monotonic() - started:.1f} s")
    return out / "report"


def answer(report: Path, name: str) -> str:
    rc = (report / f"{name}.rc").read_text().strip()
    text = (report / name).read_text()
    assert rc == "0", f"{name} exited {rc}:\n{text}"
    return text


def test_runs_as_aarch64_code(report):
    assert answer(report, "machine").strip() == "aarch64"
    assert answer(report, "version").strip().startswith("centralino 0.")
    machine, numpy_version, libyaml, frame = answer(report, "imports").split()
    assert (machine, libyaml, frame) == ("aarch64", "True", "160")


def test_bundled_extensions_are_arm64_builds(deb_for):
    import subprocess

    deb = deb_for("arm64")
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    assert "site-packages/numpy/" in listing
    unpacked = deb.parent / "arm64-unpacked"
    subprocess.run(["rm", "-rf", str(unpacked)], check=True)
    subprocess.run(["dpkg-deb", "--extract", str(deb), str(unpacked)], check=True)
    shared = list((unpacked / "opt/centralino/lib/python3.11/site-packages/numpy").rglob("*.so"))
    assert shared
    for library in shared:
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, library
    subprocess.run(["rm", "-rf", str(unpacked)], check=True)


def test_configuration_is_the_example_as_conffile(report):
    assert "/etc/centralino/comune.yaml" in answer(report, "conffiles")
    assert answer(report, "config-link").strip() == "comune.yaml"
    assert "OK" in answer(report, "config-check")


def test_service_user_groups_and_enablement(report):
    assert answer(report, "enabled").strip() == "enabled"
    assert answer(report, "status").split()[:3] == ["install", "ok", "installed"]
    passwd = answer(report, "passwd")
    assert "centralino:" in passwd and "technician:" in passwd
    assert set(answer(report, "groups").split()) >= {"centralino", "spi", "gpio", "i2c", "dialout", "audio"}


def test_installed_files(report):
    files = set(answer(report, "files").split())
    for path in ("/usr/bin/centralino", "/opt/centralino/pyvenv.cfg", "/opt/centralino/bin/centralino",
                 "/usr/lib/systemd/system/centralino.service", "/usr/lib/sysusers.d/centralino.conf",
                 "/usr/lib/tmpfiles.d/centralino.conf", "/usr/lib/udev/rules.d/99-centralino.rules",
                 "/usr/share/centralino/prompts/it/catalogue.tsv", "/usr/share/doc/centralino/README.md",
                 "/usr/share/centralino/overlays/centralino-8fxs-4fxo.dtbo"):
        assert path in files, path
    dropins = [f for f in files if f.startswith("/usr/lib/systemd/system/serial-getty@ttyAMA0.service.d/")]
    if dropins:  # the technician's serial console, when the tree has it
        assert "agetty --autologin technician" in answer(report, "getty-dropin")


def test_the_web_interface_is_installed_enabled_and_runs_on_aarch64(report):
    assert answer(report, "web-enabled").strip() == "enabled"
    assert answer(report, "web-groups").split() == ["centralino-web", "centralino"], "no device group"
    assert answer(report, "web-imports").split() == ["True", "True"]
    files = set(answer(report, "files").split())
    for path in ("/usr/lib/systemd/system/centralino-web.service", "/usr/lib/sysusers.d/centralino-web.conf",
                 "/opt/centralino/lib/python3.11/site-packages/centralino/web/static/vendor/bootstrap-italia/css/"
                 "bootstrap-italia.min.css", "/opt/centralino/lib/python3.11/site-packages/centralino/web/templates/base.html"):
        assert path in files, path
