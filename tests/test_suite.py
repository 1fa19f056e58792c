"""The suite's own contract: a test that hangs — in Python or inside compiled code that never returns to Python —
fails alone at its time limit, and the run goes on (pyproject.toml: pytest-xdist workers + pytest-timeout's thread
method)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

HUNG = '''
import time

import numba
import pytest


@numba.njit(nogil=True)
def spin(n):  # never returns, and never gives Python a chance to run a signal handler
    x, i = 0, 0
    while i >= 0:
        x += i
        i = (i + 1) % n
    return x


@pytest.mark.timeout(2)
def test_hangs_in_compiled_code():
    spin(7)


@pytest.mark.timeout(2)
def test_hangs_in_python():
    time.sleep(600)


@pytest.mark.parametrize("k", range(4))
def test_fine(k):
    assert k < 4
'''


@pytest.mark.slow
def test_a_hung_test_fails_alone_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_hung.py").write_text(HUNG)
    done = subprocess.run([sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir",
                           str(tmp_path), "-p", "no:cacheprovider", "-n", "2", str(tmp_path / "test_hung.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    out = done.stdout
    assert done.returncode == 1, out[-3000:]
    assert "2 failed, 4 passed" in out, out[-3000:]
    assert "FAILED test_hung.py::test_hangs_in_compiled_code" in out and "FAILED test_hung.py::test_hangs_in_python" \
        in out, out[-3000:]
