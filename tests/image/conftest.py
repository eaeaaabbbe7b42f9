"""Shared pieces of the image tests: the image-build/ scripts, the download cache, a built .deb.

The packages are built with fast compression (gzip -1): the content is what `make deb` ships,
only the archive is bigger. Downloads are cached in out/cache (CENTRALINO_CACHE overrides it),
so a rerun on the same machine fetches only the Debian package lists.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE_BUILD = ROOT / "image-build"
OUT = ROOT / "out" / "test-image"
CACHE = Path(os.environ.get("CENTRALINO_CACHE", ROOT / "out" / "cache"))
sys.path.insert(0, str(IMAGE_BUILD))

import build_deb  # noqa: E402
import rootfs  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """The qemu boot test needs `make image` first (minutes): only `make boot-test` runs it."""
    if os.environ.get("CENTRALINO_BOOT_TEST") == "1":
        return
    kept = [item for item in items if "qemu_boot" not in item.keywords]
    dropped = [item for item in items if "qemu_boot" in item.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config):
    if os.environ.get("CENTRALINO_BOOT_TEST") != "1":
        return "tests/image: the qemu boot test is left to `make boot-test` (it needs `make image`)"
    return None


def require(problem: str | None) -> None:
    """Skip, saying why, when this machine cannot run the tool at all."""
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="session")
def deb_for():
    """Builds (once per session and architecture) the .deb from this tree; returns its path."""
    built: dict[str, Path] = {}

    def build(arch: str) -> Path:
        if arch not in built:
            require(rootfs.missing_tools(("dpkg-deb",)) and "dpkg-deb is missing")
            OUT.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            try:
                built[arch] = build_deb.build(arch, OUT, CACHE, "gzip", level=1)
            except build_deb.BuildError as err:
                pytest.fail(str(err))
            print(f"build_deb {arch}: {time.monotonic() - started:.1f} s, "
                  f"{built[arch].stat().st_size / 1e6:.1f} MB")
        return built[arch]

    return build
