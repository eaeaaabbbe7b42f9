#!/usr/bin/env python3
"""Fetches Bootstrap Italia (and axe-core for the browser tests) from npm and vendors what the pages use.

Why at build time and not committed: the dist files are third-party builds (about 1 MB for what
the pages use) that an upgrade replaces whole; pinning the versions here and copying from npm
keeps the repository free of minified code while the appliance still needs no internet (the
files are inside the package). Run by ``make setup`` (and so before ``make deb``); a rerun with
the same versions does nothing.

    firmware/centralino/web/static/vendor/bootstrap-italia/   css, svg sprites, woff2 fonts, LICENSE
    .cache/npm/node_modules/axe-core/axe.min.js               tests/web only (not packaged)

Exit status 2 with one line when npm is missing or the registry cannot be reached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"bootstrap-italia": "2.18.3", "axe-core": "4.14.1"}
NPM_DIR = ROOT / ".cache" / "npm"
VENDOR = ROOT / "firmware" / "centralino" / "web" / "static" / "vendor"
STAMP = VENDOR / "versions.json"
# What the pages load from Bootstrap Italia's dist/: the stylesheet, the icon sprites and the
# fonts (woff2 only: every browser the comune's staff use reads it).
COPIED = ("css/bootstrap-italia.min.css", "svg/sprites.svg")
FONT_SUFFIX = ".woff2"


class VendorError(RuntimeError):
    pass


def npm_install() -> Path:
    if shutil.which("npm") is None:
        raise VendorError("npm is not installed (Debian: apt-get install npm)")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    (NPM_DIR / "package.json").write_text(json.dumps({"name": "centralino-web-assets", "private": True,
                                                       "dependencies": PACKAGES}, indent=1) + "\n")
    result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(NPM_DIR)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise VendorError(f"npm install failed: {(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return NPM_DIR / "node_modules"


def vendor(modules: Path) -> None:
    dist = modules / "bootstrap-italia" / "dist"
    target = VENDOR / "bootstrap-italia"
    shutil.rmtree(target, ignore_errors=True)
    for name in COPIED:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / name, target / name)
    for font in sorted((dist / "fonts").rglob("*")):
        if font.suffix == FONT_SUFFIX or font.name.startswith("LICENSE"):
            out = target / "fonts" / font.relative_to(dist / "fonts")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(font, out)
    shutil.copyfile(modules / "bootstrap-italia" / "LICENSE", target / "LICENSE")
    STAMP.write_text(json.dumps(PACKAGES) + "\n")


def main() -> int:
    if STAMP.exists() and json.loads(STAMP.read_text()) == PACKAGES \
            and (NPM_DIR / "node_modules" / "axe-core" / "axe.min.js").exists():
        return 0
    try:
        vendor(npm_install())
    except (VendorError, OSError) as err:
        print(f"vendor_web_assets: {err}", file=sys.stderr)
        return 2
    print(f"vendored bootstrap-italia {PACKAGES['bootstrap-italia']} into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
