# centralino: `make demo` and `make test` set up everything they need on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian tools the tests use as independent references and test-signal sources, as
# command or command:package when the package has another name
DEB_TOOLS := sox espeak-ng multimon-ng minimodem systemd-analyze:systemd setpriv:util-linux sipp:sip-tester sipsak baresip kamailio svmap:sipvicious \
	chromium chromedriver:chromium-driver npm dtc:device-tree-compiler
STAMP := $(VENV)/.installed
# Debian tools of the package and image builds (image-build/, tests/image/); BOOT_TOOLS only for
# make boot-test
IMAGE_TOOLS := mmdebstrap dpkg-deb:dpkg qemu-aarch64-static:qemu-user-static update-binfmts:binfmt-support \
	systemd-nspawn:systemd-container sfdisk:fdisk mkfs.vfat:dosfstools mcopy:mtools mkfs.ext4:e2fsprogs xz:xz-utils \
	dtc:device-tree-compiler
BOOT_TOOLS := qemu-system-aarch64:qemu-system-arm

.PHONY: demo test bench setup debs apt clean deb image boot-test image-tools binfmt web-assets

demo: setup
	$(BIN)/centralino demo --data-dir out/demo

test: setup debs web-assets image-tools
	$(BIN)/python -m pytest

bench: setup debs web-assets
	@for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "centralino needs Python 3.11 or newer"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(MAKE) --no-print-directory apt PKGS=python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@$(BIN)/python tools/vendor_web_assets.py || echo "setup: the web interface's Bootstrap Italia files are missing (make web-assets after installing npm)"
	@touch $@

# Bootstrap Italia (packaged with the web interface) and axe-core (browser tests) from npm
web-assets: setup
	$(BIN)/python tools/vendor_web_assets.py

debs:
	@missing=""; for entry in $(DEB_TOOLS); do tool=$${entry%%:*}; package=$${entry#*:}; \
		command -v $$tool >/dev/null || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt PKGS="$$missing"; fi

# out/centralino_VERSION_arm64.deb and _amd64.deb (xz; python image-build/build_deb.py --help)
deb: setup web-assets image-tools
	$(BIN)/python image-build/build_deb.py

# out/centralino-VERSION-arm64.img.xz and .sha256 (about 10 minutes here)
image: setup image-tools
	$(BIN)/python image-build/build_image.py

# boots the image of `make image` (built first when missing) in qemu-system-aarch64
boot-test: setup image-tools
	@$(MAKE) --no-print-directory debs DEB_TOOLS="$(BOOT_TOOLS)"
	@ls out/centralino-*-arm64.img.xz >/dev/null 2>&1 || $(MAKE) --no-print-directory image
	CENTRALINO_BOOT_TEST=1 $(BIN)/python -m pytest -m qemu_boot tests/image

image-tools: binfmt
	@$(MAKE) --no-print-directory debs DEB_TOOLS="$(IMAGE_TOOLS)"
	@if [ -e /proc/sys/fs/binfmt_misc/status ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; $$SUDO update-binfmts --enable qemu-aarch64; fi

# arm64 programs run here through qemu-user: the kernel's binfmt_misc must be mounted (as root,
# the one privileged step of the image build)
binfmt:
	@if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; fi

apt:
	@echo "installing Debian packages:$(PKGS)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PKGS) >/dev/null

clean:
	rm -rf $(VENV) out .pytest_cache .cache
