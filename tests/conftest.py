"""Shared fixtures: paths to the real recordings in ../shared/data/real (never modified)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("SAST_SHARED_DATA", REPO.parent / "shared" / "data" / "real"))
NMNIST_SMALL = REAL / "slayer-nmnist" / "NMNISTsmall"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.fail(f"the real recordings are missing: {REAL} (set SAST_SHARED_DATA)")
    return REAL
