# ASFS developer entry points. GNU make; works on a fresh Debian 12 as root.
#
#   make run     install what is missing, then start the window   (make run ARGS="--data-dir /tmp/x")
#   make test    install what is missing, then run the whole test suite (make test PYTEST_ARGS="-k app")
#   make bench   install what is missing, then run the benchmarks
#   make deps    system packages only (scripts/system-deps.sh)
#   make venv    .venv with the project and its test extras, reinstalled when pyproject.toml changes
#   make clean   remove .venv

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

ARGS ?=
PYTEST_ARGS ?=

# We drive Debian's /usr/bin/chromium; Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help run test bench deps venv clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

deps:
	@PYTHON='$(PYTHON)' bash scripts/system-deps.sh all

venv: $(STAMP)

$(VPY):
	@PYTHON='$(PYTHON)' bash scripts/system-deps.sh python
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --disable-pip-version-check --progress-bar off -e '.[test]'
	@touch $@

run: deps $(STAMP)
	$(VPY) app.py $(ARGS)

test: export QT_QPA_PLATFORM := offscreen
test: deps $(STAMP)
	@set +e; $(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

bench: deps $(STAMP)
	@if [ -f bench/__main__.py ]; then \
		$(VPY) -m bench $(ARGS); \
	else \
		echo "No benchmarks yet (bench/__main__.py does not exist); they come later."; \
	fi

clean:
	rm -rf $(VENV)
