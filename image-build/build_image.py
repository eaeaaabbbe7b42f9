#!/usr/bin/env python3
"""Builds out/centralino-VERSION-arm64.img.xz (and .sha256): an SD card image for the Pi.

Debian bookworm arm64 with raspi-firmware and linux-image-arm64, the centralino .deb from this
tree (service enabled), the HAT's config.txt settings and device-tree overlay, the Pi's hardware
watchdog fed by systemd, the serial console and a first-boot root expansion. No loop devices, no device-mapper, no root on the host beyond the binfmt mount:
mmdebstrap (unshare mode, qemu-user) fills a directory; the FAT boot partition is made as a file
with mkfs.vfat + mcopy, the ext4 root with mkfs.ext4 -d; sfdisk writes the partition table and
both are copied into the image at their offsets.

update-initramfs is diverted while packages install and run once at the end: every package that
triggers it would otherwise rebuild the initramfs under qemu-user, which doubles the build time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import build_deb
import rootfs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BOOT_START_MIB = 4
BOOT_SIZE_MIB = 256
ROOT_SLACK = 1.25            # free space left in the root file system, as a factor of its content
ROOT_EXTRA_MIB = 256
BOOT_LABEL = "RASPIFIRM"
ROOT_LABEL = "RASPIROOT"
PACKAGES = ("systemd-sysv", "kmod", "linux-image-arm64", "raspi-firmware", "initramfs-tools",
            "e2fsprogs", "fdisk", "dosfstools", "iproute2", "iputils-ping", "systemd-timesyncd",
            "ca-certificates", "tzdata", "less", "nano", "procps")
# what Debian's raspi-firmware must have written from image-build/boot/ (checked on every build)
HAT_OVERLAY = "centralino-8fxs-4fxo"  # the reference HAT's, named in config.txt
BOOT_SETTINGS = {"cmdline.txt": ("console=serial0,115200", f"root=LABEL={ROOT_LABEL}"),
                 "config.txt": ("dtparam=spi=on", "dtparam=i2c_arm=on", "dtparam=i2s=on", "enable_uart=1",
                                f"dtoverlay={HAT_OVERLAY}")}
BOOT_FILES = (f"overlays/{HAT_OVERLAY}.dtbo",)  # what the firmware partition must hold besides
TOOLS = ("mmdebstrap", "dpkg-deb", "sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "xz", "dtc")
WATCHDOG = HERE / "system.conf.d" / "centralino-watchdog.conf"  # the Pi's hardware watchdog
NETWORK = "[Match]\nName=eth0 en*\n\n[Network]\nDHCP=yes\n"
FSTAB = (f"LABEL={ROOT_LABEL} / ext4 rw,noatime,errors=remount-ro 0 1\n"
         f"LABEL={BOOT_LABEL} /boot/firmware vfat rw,noatime,umask=0077 0 2\n")


def chroot(command: str) -> tuple[str, str]:
    return ("customize", f'chroot "$1" sh -c {shell_quote(command)}')


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def write(path: str, text: str) -> tuple[str, str]:
    return ("customize", f'mkdir -p "$1"{Path(path).parent} && printf %s {shell_quote(text)} > "$1"{path}')


def hooks(deb: Path) -> list[tuple[str, str]]:
    """What turns the packages into the appliance, in order."""
    firstboot = HERE / "firstboot"
    return [
        # before any package: defer the initramfs (run once at the end)
        ("essential", 'chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs'),
        ("essential", 'printf "#!/bin/sh\\nexit 0\\n" > "$1"/usr/sbin/update-initramfs && '
                      'chmod 755 "$1"/usr/sbin/update-initramfs'),
        # raspi-firmware writes cmdline.txt and config.txt from these files on every kernel update
        ("customize", f'cp {HERE / "boot" / "raspi-firmware"} "$1"/etc/default/raspi-firmware'),
        ("customize", f'cp {HERE / "boot" / "config.txt"} "$1"/etc/default/raspi-firmware-custom'),
        ("customize", f"upload {deb} /root/centralino.deb"),
        chroot("dpkg -i /root/centralino.deb && rm /root/centralino.deb"),
        write("/etc/fstab", FSTAB),
        write("/etc/hostname", "centralino\n"),
        write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 centralino\n"),
        write("/etc/systemd/network/50-wired.network", NETWORK),
        # systemd feeds bcm2835-wdt: a hung kernel reboots the Pi (the lifeline relay has
        # already dropped by then, its heartbeat gone)
        ("customize", f'mkdir -p "$1"/etc/systemd/system.conf.d && cp {WATCHDOG} "$1"/etc/systemd/system.conf.d/'),
        ("customize", f'mkdir -p "$1"/usr/lib/centralino-image && cp {firstboot / "expand-root"} '
                      '"$1"/usr/lib/centralino-image/ && chmod 755 "$1"/usr/lib/centralino-image/expand-root'),
        ("customize", f'cp {firstboot / "centralino-expand-root.service"} "$1"/usr/lib/systemd/system/'),
        chroot("systemctl enable centralino-expand-root.service systemd-networkd.service "
               "systemd-timesyncd.service"),
        chroot("passwd --lock root >/dev/null"),
        # the one initramfs run; raspi-firmware's hook then fills /boot/firmware
        ('customize', 'rm "$1"/usr/sbin/update-initramfs && '
                      'chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs'),
        ("customize", f'cp {HERE / "hooks" / "initramfs-modules"} "$1"/tmp/ && chroot "$1" sh /tmp/initramfs-modules'),
        chroot("update-initramfs -c -k all"),
        ("customize", 'rm -f "$1"/etc/machine-id && touch "$1"/etc/machine-id'),
    ]


def remove(path: Path) -> None:
    if path.exists():
        subprocess.run(as_tree_owner(["rm", "-rf", str(path)]), check=True)


def mib(n_bytes: int) -> int:
    return -(-n_bytes // (1 << 20))


def as_tree_owner(command: list[str]) -> list[str]:
    """``command`` as the owner of mmdebstrap's tree. Run by root, the tree belongs to root: run
    it as is. Run by a user, mmdebstrap (unshare mode) left the tree owned by that user's
    subordinate ids: enter the same kind of user namespace, where they are root again, so that
    every file can be read and mkfs.ext4 -d records root as root."""
    if os.geteuid() == 0:
        return command
    return ["unshare", "--map-auto", "--map-root-user", "--", *command]


def tree_bytes(path: Path) -> int:
    result = subprocess.run(as_tree_owner(["du", "-s", "--block-size=1", str(path)]), capture_output=True,
                            text=True, check=True)
    return int(result.stdout.split()[0])


def boot_partition(firmware: Path, image: Path) -> None:
    """The FAT boot partition as a file: what raspi-firmware put in /boot/firmware."""
    subprocess.run(["mkfs.vfat", "-F", "32", "-n", BOOT_LABEL, "-C", str(image), str(BOOT_SIZE_MIB * 1024)],
                   check=True, stdout=subprocess.DEVNULL)
    entries = sorted(str(p) for p in firmware.iterdir())
    for name, wanted in BOOT_SETTINGS.items():
        text = (firmware / name).read_text() if (firmware / name).exists() else ""
        missing = [setting for setting in wanted if setting not in text.split()]
        if missing:
            raise SystemExit(f"build_image: {firmware / name} lacks {missing}: raspi-firmware did not "
                             "take image-build/boot/")
    lacking = [name for name in BOOT_FILES if not (firmware / name).exists()]
    if lacking:
        raise SystemExit(f"build_image: {firmware} lacks {lacking}: the centralino package's postinst "
                         "did not install the HAT's overlay")
    subprocess.run(["mcopy", "-s", "-p", "-i", str(image), *entries, "::/"], check=True)


def root_partition(tree: Path, image: Path) -> int:
    """The ext4 root partition as a file, sized to its content plus room; returns MiB."""
    size_mib = int(mib(tree_bytes(tree)) * ROOT_SLACK) + ROOT_EXTRA_MIB
    image.unlink(missing_ok=True)
    subprocess.run(as_tree_owner(["mkfs.ext4", "-q", "-L", ROOT_LABEL, "-d", str(tree), str(image),
                                  f"{size_mib}M"]), check=True, stdout=subprocess.DEVNULL)
    return size_mib


def assemble(boot: Path, root: Path, root_mib: int, image: Path) -> None:
    """Partition table by sfdisk, partitions copied in at their offsets."""
    root_start_mib = BOOT_START_MIB + BOOT_SIZE_MIB
    total_mib = root_start_mib + root_mib
    image.unlink(missing_ok=True)
    with open(image, "wb") as out:
        out.truncate(total_mib << 20)
    layout = ("label: dos\n"
              f"start={BOOT_START_MIB << 11}, size={BOOT_SIZE_MIB << 11}, type=c, bootable\n"
              f"start={root_start_mib << 11}, size={root_mib << 11}, type=83\n")
    subprocess.run(["sfdisk", "--quiet", str(image)], input=layout, text=True, check=True)
    for part, start_mib in ((boot, BOOT_START_MIB), (root, root_start_mib)):
        subprocess.run(["dd", f"if={part}", f"of={image}", "bs=1M", f"seek={start_mib}", "conv=notrunc,sparse",
                        "status=none"], check=True)


def compress(image: Path) -> Path:
    packed = image.with_name(image.name + ".xz")
    with open(packed, "wb") as out:
        subprocess.run(["xz", "-T0", "-3", "-c", str(image)], stdout=out, check=True)
    digest = hashlib.sha256(packed.read_bytes()).hexdigest()
    packed.with_name(packed.name + ".sha256").write_text(f"{digest}  {packed.name}\n")
    return packed


def build(out: Path, cache: Path, keep: bool) -> Path:
    problem = rootfs.environment_problem("arm64")
    missing = rootfs.missing_tools(TOOLS)
    if problem or missing:
        raise SystemExit(f"build_image: {problem or 'missing tools: ' + ', '.join(missing)}")
    version = build_deb.project_version()
    work = out / "build" / "image"
    remove(work)
    work.mkdir(parents=True)
    steps: dict[str, float] = {}
    started = time.monotonic()
    deb = build_deb.build("arm64", work, cache, "gzip", level=1)
    steps["deb"] = time.monotonic() - started
    tree = work / "rootfs"
    run = rootfs.Rootfs(arch="arm64", target=str(tree), cache=cache,
                        include=[*rootfs.DEB_DEPENDS, *PACKAGES], hooks=hooks(deb))
    steps["mmdebstrap"] = run.run(work / "mmdebstrap.log")
    mark = time.monotonic()
    firmware_dir = work / "firmware"
    subprocess.run(as_tree_owner(["sh", "-c", 'mv "$1/boot/firmware" "$2" && mkdir "$1/boot/firmware"', "mv",
                                  str(tree), str(firmware_dir)]), check=True)
    # the kernel and initrd beside the image, for qemu's direct kernel boot (make boot-test)
    for name in ("vmlinuz", "initrd.img"):
        found = sorted((tree / "boot").glob(f"{name}-*"))
        if len(found) != 1:
            raise SystemExit(f"build_image: expected one /boot/{name}-*, found {[p.name for p in found]}")
        shutil.copyfile(found[0], out / f"centralino-{version}-arm64.{name}")
    boot_partition(firmware_dir, work / "boot.vfat")
    root_mib = root_partition(tree, work / "root.ext4")
    image = out / f"centralino-{version}-arm64.img"
    assemble(work / "boot.vfat", work / "root.ext4", root_mib, image)
    steps["partitions"] = time.monotonic() - mark
    mark = time.monotonic()
    packed = compress(image)
    steps["xz"] = time.monotonic() - mark
    if not keep:
        image.unlink()
        remove(work)
    total = time.monotonic() - started
    print("build_image: " + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()) + f"; total {total:.0f} s; "
          f"{packed.name} {packed.stat().st_size / 1e6:.0f} MB")
    return packed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--cache", type=Path, help="download cache (default OUT/cache)")
    parser.add_argument("--keep", action="store_true", help="keep the raw .img and the build folder")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    try:
        print(build(out, (args.cache or out / "cache").resolve(), args.keep))
    except (build_deb.BuildError, rootfs.RootfsError) as err:
        print(f"build_image: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
