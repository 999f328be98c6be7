# srcdesk — developer commands. `make run` and `make test` set everything up on first use.
# On a bare Debian machine, install tools/debian-packages.txt first (see the README's quick start).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export QT_QPA_PLATFORM ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY),,offscreen)

.PHONY: run test lint bench dist screenshots clean

# The stamp is written last, after a complete install. A .venv without it (an install that was
# interrupted, or a venv made by hand) or whose Python no longer starts (moved, or the system's
# Python was upgraded under it) is removed and made again; one with the stamp is only brought up
# to date when pyproject.toml changes.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(BIN)/python -c 'import sys' >/dev/null 2>&1 && echo ok),ok)
$(shell rm -f $(STAMP))
endif
endif

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "srcdesk needs Python 3.11 or later")'
	@if [ -d $(VENV) ] && { [ ! -f $(STAMP) ] || ! $(BIN)/python -c 'import sys' >/dev/null 2>&1; }; then \
		echo "$(VENV) is incomplete or broken: making it again"; rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
		echo "Couldn't make $(VENV): on Debian, install python3-venv (tools/debian-packages.txt)"; \
		rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/srcdesk

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/screenshots.py docs/screenshots

dist: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --clean installer.spec

# Build output and caches go; .venv only if you say so (asked in a terminal; never otherwise).
clean:
	rm -rf build dist .pytest_cache .ruff_cache
	@if [ -d $(VENV) ] && [ -t 0 ]; then \
		printf 'Remove %s too (it is made again on the next make run)? [y/N] ' '$(VENV)'; read answer; \
		case "$$answer" in [yY]*) rm -rf $(VENV); echo "Removed $(VENV).";; *) echo "Kept $(VENV).";; esac; \
	elif [ -d $(VENV) ]; then echo "Kept $(VENV) (run make clean in a terminal to be asked)."; fi
