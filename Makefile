# `make run` and `make test` each do the whole set-up on a fresh machine:
# a .venv, torch==2.13.0 (the CPU wheel) installed FIRST so no resolver can pull a newer or CUDA build,
# then this project with its dev extras.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sast-live-installed

.PHONY: run test test-fast setup gui-deps lint clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,dv]'
	touch $(STAMP)

setup: $(STAMP)

# Qt's system libraries (xcb, GL, fonts): checked with ldd; installed with apt-get when root on Debian/Ubuntu,
# otherwise the exact `sudo apt install …` line is printed (and the app falls back to a headless replay).
gui-deps: $(STAMP)
	$(PY) -m sast_live.gui.qt_deps

run: gui-deps
	$(PY) main.py

lint: $(STAMP)
	$(PY) -m ruff check .

# the whole suite in parallel worker processes (pyproject.toml: -n auto); a hung test fails alone at its limit
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

# the edit loop: everything but the tests marked slow (under a minute on 2 cores)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
