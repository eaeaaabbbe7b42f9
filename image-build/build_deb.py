#!/usr/bin/env python3
"""Builds out/centralino_VERSION_ARCH.deb from this tree, Python dependencies included.

Why a plain dpkg-deb around a prepared tree rather than dh-virtualenv: the appliance is arm64 and
the build host is amd64, and dh-virtualenv can only fill a virtual environment with the build
host's interpreter. Here pip fetches the *target's* wheels (``--platform manylinux_*_aarch64
--only-binary=:all:``) and unpacks them into /opt/centralino, which becomes a virtual
environment over Debian's own python3.11 (pyvenv.cfg + a bin/python3 link). Pure-Python packages
published only as source are first built into wheels on the host (they fit any platform); a
compiled package with no wheel for the target stops the build with its name.

Wheels are cached under out/cache/wheels/ARCH, so a rerun needs the network only when the
dependencies change. Run with the project's Python 3.11 (the .pyc files it compiles are loaded by
the target's 3.11 as they are).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from email.parser import HeaderParser
from importlib.metadata import PathDistribution
from pathlib import Path
from zipfile import ZipFile

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "deb"
BOARDS = ROOT / "firmware" / "centralino" / "boards"  # board definitions and their overlays (.dts)
PYTHON_VERSION = "3.11"
PREFIX = Path("opt/centralino")
SITE = PREFIX / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
SHARE = Path("usr/share/centralino")
SYSTEMD_UNIT_DIR = Path("usr/lib/systemd/system")
CONFFILE = Path("etc/centralino/comune.yaml")
DEB_MACHINES = {"arm64": "aarch64", "amd64": "x86_64"}
# bookworm has glibc 2.36: any manylinux wheel up to that level runs there.
GLIBC_MINOR_MAX = 36
GLIBC_MINOR_MIN = 17
SOURCE_FILES = ("pyproject.toml", "setup.py", "README.md", "firmware", "drivers", "hw-sim")
# Requirements replaced in the package by a drop-in with the same import name. RPi.GPIO is C
# source only (no aarch64 wheel, and this amd64 host cannot compile it for the Pi);
# rpi-lgpio provides the same ``RPi.GPIO`` module on top of lgpio (/dev/gpiochip*), which also
# works with Debian's own arm64 kernel, where RPi.GPIO's /dev/gpiomem access is not there.
SUBSTITUTES = {"rpi-gpio": "rpi-lgpio"}
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".path", ".target")


class BuildError(RuntimeError):
    """A step of the package build that cannot go on; the message says which and why."""


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def platform_args(arch: str) -> list[str]:
    """pip's --platform list for ``arch``: pip does not widen a manylinux tag by itself."""
    machine = DEB_MACHINES[arch]
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MINOR_MIN, GLIBC_MINOR_MAX + 1)]
    tags += [f"manylinux2014_{machine}", f"linux_{machine}"]
    args = []
    for tag in tags:
        args += ["--platform", tag]
    return args + ["--python-version", PYTHON_VERSION, "--implementation", "cp",
                   "--abi", "cp" + PYTHON_VERSION.replace(".", ""), "--only-binary=:all:"]


def pip(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True)


def checked(result: subprocess.CompletedProcess, what: str) -> None:
    if result.returncode != 0:
        noise = "is ignored: it is neither a file nor a directory"
        detail = "\n".join(line for line in (result.stderr + result.stdout).splitlines() if noise not in line)
        raise BuildError(f"{what} failed:\n{detail.strip()}")


def build_project_wheel(work: Path) -> Path:
    """centralino's own wheel, always rebuilt from a copy of the sources (setuptools writes build/
    and *.egg-info into the folder it builds, which is not for a build to touch in the work tree)."""
    source = work / "src"
    for name in SOURCE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            copy(ROOT / name, source / name)
    target = work / "wheel"
    checked(pip("wheel", "--no-deps", "--wheel-dir", str(target), str(source)), "building centralino's wheel")
    wheels = sorted(target.glob("centralino-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one centralino wheel in {target}, found {[w.name for w in wheels]}")
    return wheels[0]


WEB_ASSETS = ROOT / "firmware" / "centralino" / "web" / "static" / "vendor" / "bootstrap-italia" / "css" / \
    "bootstrap-italia.min.css"


def check_web_assets() -> None:
    """The web interface's Bootstrap Italia files are vendored by ``make web-assets`` (npm), not
    committed: a package without them would serve unstyled pages, so the build stops instead."""
    if not WEB_ASSETS.exists():
        raise BuildError(f"{WEB_ASSETS.relative_to(ROOT)} is missing: run make web-assets (needs npm) first")


def target_environment(arch: str) -> dict[str, str]:
    return default_environment() | {"platform_machine": DEB_MACHINES[arch], "sys_platform": "linux",
                                    "platform_system": "Linux"}


def project_requirements(project_wheel: Path) -> list:
    """centralino's Requires-Dist lines, extras left out."""
    with ZipFile(project_wheel) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(wheel.read(name).decode())
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]
    return [r for r in requirements if not (r.marker and "extra" in str(r.marker))]


def target_only(project_wheel: Path, arch: str) -> list[str]:
    """Requirements whose marker holds on ``arch`` but not on the build host: pip judges markers
    on the host even with --platform, so these are asked for by name (or by their substitute)."""
    host, target = default_environment(), target_environment(arch)
    extra = []
    for requirement in project_requirements(project_wheel):
        if requirement.marker and requirement.marker.evaluate(target) and not requirement.marker.evaluate(host):
            name = canonicalize_name(requirement.name)
            extra.append(SUBSTITUTES.get(name, f"{requirement.name}{requirement.specifier}"))
    return extra


def fetch_wheels(wanted: list[str], project_wheel: Path, arch: str, cache: Path) -> Path:
    """Every dependency of centralino as a wheel for ``arch``, in out/cache/wheels/ARCH."""
    arch_dir = cache / "wheels" / arch
    links = ["--find-links", str(project_wheel.parent), "--find-links", str(arch_dir)]
    offline = pip("download", "--no-index", *links, "--dest", str(arch_dir), *platform_args(arch), *wanted)
    if offline.returncode == 0:
        return arch_dir
    # Source-only pure-Python packages become py3-none-any wheels here, usable on any target.
    host_dir = cache / "wheels" / "host"
    checked(pip("wheel", "--wheel-dir", str(host_dir), "--find-links", str(project_wheel.parent),
                str(project_wheel)), "building the host's wheels of the dependencies")
    checked(pip("download", *links, "--find-links", str(host_dir), "--dest", str(arch_dir),
                *platform_args(arch), *wanted),
            f"fetching the {arch} wheels (a compiled package without a {DEB_MACHINES[arch]} wheel "
            "cannot be bundled)")
    return arch_dir


def install_tree(stage: Path, wanted: list[str], project_wheel: Path, wheels: Path, arch: str) -> None:
    """/opt/centralino: the wheels unpacked into a virtual environment over /usr/bin/python3.11."""
    site = stage / SITE
    checked(pip("install", "--no-index", "--find-links", str(wheels), "--find-links",
                str(project_wheel.parent), "--target", str(site), "--no-compile", *platform_args(arch),
                *wanted), f"installing the {arch} wheels")
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts with the host's interpreter
    check_target_requirements(site, project_wheel, arch)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j0", str(site)], check=True)
    bin_dir = stage / PREFIX / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3").symlink_to(f"/usr/bin/python{PYTHON_VERSION}")
    (bin_dir / "python").symlink_to("python3")
    (stage / PREFIX / "pyvenv.cfg").write_text(
        f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {PYTHON_VERSION}\n")
    launcher = bin_dir / "centralino"
    launcher.write_text(f"#!/{PREFIX}/bin/python3\nimport sys\nfrom centralino.cli import main\n"
                        "sys.exit(main())\n")
    launcher.chmod(0o755)
    usr_bin = stage / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "centralino").symlink_to(f"/{PREFIX}/bin/centralino")


def check_target_requirements(site: Path, project_wheel: Path, arch: str) -> None:
    """Fails when a requirement meant for the target is missing from the tree."""
    environment = target_environment(arch)
    installed = {canonicalize_name(PathDistribution(info).metadata["Name"])
                 for info in site.glob("*.dist-info")}
    missing = []
    for requirement in project_requirements(project_wheel):
        if requirement.marker is None or requirement.marker.evaluate(environment):
            name = canonicalize_name(requirement.name)
            if name not in installed and canonicalize_name(SUBSTITUTES.get(name, name)) not in installed:
                missing.append(str(requirement))
    if missing:
        raise BuildError(f"requirements for {arch} not bundled: {', '.join(missing)}")


def install_systemd(stage: Path) -> dict[str, list[str]]:
    """The files of systemd/ where systemd looks for them; returns what postinst must act on."""
    acted = {"sysusers": [], "tmpfiles": [], "units": []}
    for source in sorted((ROOT / "systemd").iterdir()):
        if source.name.startswith("."):
            continue
        if source.is_dir() and source.name.endswith(".d"):
            target = stage / SYSTEMD_UNIT_DIR / source.name
            for dropin in sorted(source.glob("*.conf")):
                copy(dropin, target / dropin.name)
        elif source.suffix in UNIT_SUFFIXES:
            copy(source, stage / SYSTEMD_UNIT_DIR / source.name)
            if "\n[Install]" in source.read_text() and "@" not in source.name:
                acted["units"].append(source.name)
        elif source.suffix == ".sysusers":
            copy(source, stage / "usr/lib/sysusers.d" / f"{source.stem}.conf")
            acted["sysusers"].append(f"{source.stem}.conf")
        elif source.suffix == ".tmpfiles":
            copy(source, stage / "usr/lib/tmpfiles.d" / f"{source.stem}.conf")
            acted["tmpfiles"].append(f"{source.stem}.conf")
        elif source.suffix == ".rules":
            copy(source, stage / "usr/lib/udev/rules.d" / source.name)
        elif source.suffix == ".sh" or os.access(source, os.X_OK):
            copy(source, stage / "usr/lib/centralino" / source.name, mode=0o755)
        else:
            raise BuildError(f"systemd/{source.name}: no place for it in the package "
                             "(image-build/build_deb.py knows units, *.d drop-ins, *.sysusers, *.tmpfiles, "
                             "*.rules and executables)")
    return acted


def install_overlays(stage: Path) -> list[Path]:
    """Every board definition's device-tree overlay, compiled with dtc into /usr/share/centralino/
    overlays (postinst copies them to /boot/firmware/overlays, where config.txt names them)."""
    if shutil.which("dtc") is None:
        raise BuildError("dtc is missing (Debian package device-tree-compiler; make debs installs it)")
    target = stage / SHARE / "overlays"
    target.mkdir(parents=True, exist_ok=True)
    built = []
    for source in sorted(BOARDS.glob("*.dts")):
        out = target / f"{source.stem}.dtbo"
        result = subprocess.run(["dtc", "-@", "-q", "-I", "dts", "-O", "dtb", "-o", str(out), str(source)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"dtc could not compile {source.relative_to(ROOT)}:\n{result.stderr.strip()}")
        out.chmod(0o644)
        built.append(out)
    return built


def install_data(stage: Path) -> None:
    """The example configuration (a conffile), the prompts and the documentation."""
    copy(ROOT / "examples" / "comune.yaml", stage / CONFFILE, mode=0o644)
    prompts = stage / SHARE / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    # flows.phrases finds the shipped prompts three folders above its module, i.e. next to
    # site-packages; the link keeps the data in /usr/share.
    (stage / SITE.parent / "prompts").symlink_to(f"/{SHARE}/prompts")
    docs = stage / "usr/share/doc/centralino"
    copy(ROOT / "README.md", docs / "README.md")
    copy(TEMPLATES / "copyright", docs / "copyright")


def copy(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def write_control(stage: Path, arch: str, version: str, acted: dict[str, list[str]]) -> None:
    debian = stage / "DEBIAN"
    debian.mkdir()
    size_kb = sum(p.lstat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    values = {"VERSION": version, "ARCH": arch, "INSTALLED_KB": str(size_kb),
              "SYSUSERS": " ".join(acted["sysusers"]), "TMPFILES": " ".join(acted["tmpfiles"]),
              "UNITS": " ".join(acted["units"])}
    for name in ("control", "postinst", "prerm", "postrm"):
        text = (TEMPLATES / f"{name}.in").read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", value)
        (debian / name).write_text(text)
        (debian / name).chmod(0o644 if name == "control" else 0o755)
    (debian / "conffiles").write_text(f"/{CONFFILE}\n")


def build(arch: str, out: Path, cache: Path, compression: str, level: int | None = None) -> Path:
    if sys.version_info[:2] != tuple(int(p) for p in PYTHON_VERSION.split(".")):
        raise BuildError(f"run with Python {PYTHON_VERSION} (the target's), not {sys.version.split()[0]}")
    version = project_version()
    work = out / "build" / f"deb-{arch}"
    shutil.rmtree(work, ignore_errors=True)
    stage = work / "root"
    stage.mkdir(parents=True)
    check_web_assets()
    project_wheel = build_project_wheel(work)
    wanted = [str(project_wheel), *target_only(project_wheel, arch)]
    wheels = fetch_wheels(wanted, project_wheel, arch, cache)
    install_tree(stage, wanted, project_wheel, wheels, arch)
    acted = install_systemd(stage)
    install_data(stage)
    install_overlays(stage)
    write_control(stage, arch, version, acted)
    deb = out / f"centralino_{version}_{arch}.deb"
    strength = [] if level is None else [f"-z{level}"]
    subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{compression}", *strength, "--build", str(stage), str(deb)],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(work)
    return deb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=sorted(DEB_MACHINES),
                        help="Debian architecture (repeatable; default arm64 and amd64)")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--cache", type=Path, help="download cache (default OUT/cache)")
    parser.add_argument("--compression", default="xz", choices=("xz", "gzip", "zstd", "none"),
                        help="xz: smallest, for distribution (about 90 s here); gzip --level 1: seconds")
    parser.add_argument("--level", type=int, choices=range(0, 10), metavar="0-9", help="compression level")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    cache = (args.cache or out / "cache").resolve()
    try:
        for arch in args.arch or ["arm64", "amd64"]:
            print(build(arch, out, cache, args.compression, args.level))
    except BuildError as err:
        print(f"build_deb: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
