"""Shared fixtures: paths to the real recordings in ../shared/data/real (never modified)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.resolve import shared_data

REPO = Path(__file__).resolve().parents[1]
REAL = shared_data()
NMNIST_SMALL = REAL / "slayer-nmnist" / "NMNISTsmall"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.fail(f"the real recordings are missing: {REAL} (set SAST_SHARED_DATA)")
    return REAL
