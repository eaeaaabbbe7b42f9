# centralino: `make demo` and `make test` set up everything they need on a fresh Debian/Ubuntu machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian tools the tests use as independent references and test-signal sources, as
# command or command:package when the package has another name
DEB_TOOLS := sox espeak-ng multimon-ng minimodem systemd-analyze:systemd setpriv:util-linux
STAMP := $(VENV)/.installed

.PHONY: demo test bench setup debs apt clean

demo: setup
	$(BIN)/centralino demo --data-dir out/demo

test: setup debs
	$(BIN)/python -m pytest

bench: setup debs
	@for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "centralino needs Python 3.11 or newer"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(MAKE) --no-print-directory apt PKGS=python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

debs:
	@missing=""; for entry in $(DEB_TOOLS); do tool=$${entry%%:*}; package=$${entry#*:}; \
		command -v $$tool >/dev/null || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt PKGS="$$missing"; fi

apt:
	@echo "installing Debian packages:$(PKGS)"
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(PKGS) >/dev/null

clean:
	rm -rf $(VENV) out .pytest_cache .cache
