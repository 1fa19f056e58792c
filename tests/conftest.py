"""Shared fixtures: paths to the real recordings in ../shared/data/real (never modified); the suite's scheduling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.data.resolve import shared_data

REPO = Path(__file__).resolve().parents[1]
REAL = shared_data()
NMNIST_SMALL = REAL / "slayer-nmnist" / "NMNISTsmall"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one compute thread per worker (and per subprocess it starts): the workers already fill the cores, and two
    # workers each running torch's two threads on two cores spent their time switching
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def pytest_collection_modifyitems(config, items):
    """The slow tests first: the workers take tests in this order, so the longest start early and the short ones
    fill in around them (started last, one long test would make the run as long as itself plus all before it)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.fail(f"the real recordings are missing: {REAL} (set SAST_SHARED_DATA)")
    return REAL
