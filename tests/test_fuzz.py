"""Random and mutated bytes for every reader: either valid events or one EventFormatError — never a crash,
a hang, another exception type or an out-of-bounds read (numba kernels are bounds-checked by design)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from sast_live.errors import EventFormatError
from sast_live.events import check_events, make_events
from sast_live.formats.aedat import write_aedat31
from sast_live.formats.registry import open_events, write_events

N_CASES = 700  # per format: × 7 formats = 4,900 cases


def seed_file(tmp_path, fmt):
    rng = np.random.default_rng(0)
    n = 300
    size = (34, 34) if fmt == "bin" else (128, 128)
    ev = make_events(np.sort(rng.integers(0, 300_000, n)), rng.integers(0, size[0], n),
                     rng.integers(0, size[1], n), rng.integers(0, 2, n))
    path = tmp_path / f"seed.{fmt}"
    if fmt == "aedat":
        write_aedat31(path, ev)
    elif fmt == "evt2.raw":
        path = tmp_path / "seed.raw"
        write_events(path, ev, size, fmt="evt2")
    elif fmt == "aedat2":  # jAER's DVS128 AEDAT 2.0 (#!AER-DAT2.0 and '#' header lines, then big-endian records)
        path = tmp_path / "seed.aedat"
        write_events(path, ev, size, fmt="aedat2")
    else:
        write_events(path, ev, size)
    return path


def check_one(path, fmt) -> bool:
    """True when the bytes decoded to valid events, False when they raised EventFormatError."""
    try:
        reader = open_events(path, fmt=fmt, chunk_events=257)
        ev = reader.read()
        check_events(ev, reader.sensor_size)
        return True
    except EventFormatError:
        return False


def header_length(seed: bytes, fmt: str) -> int:
    """Bytes of the text header kept whole by the body mutations: Prophesee's up to ``% end``, jAER's ``#`` lines
    (the other formats' headers are mutated like their bodies)."""
    if b"% end\n" in seed:
        return seed.find(b"% end\n") + 6
    n = 0
    while fmt == "aedat2" and seed.startswith(b"#", n):
        n = seed.index(b"\n", n) + 1
    return n


@pytest.mark.parametrize("fmt,reader_fmt", [("raw", "evt3"), ("evt2.raw", "evt2"), ("dat", "dat"), ("bin", "nmnist"),
                                            ("npy", "npy"), ("aedat", "aedat3"), ("aedat2", "aedat2")])
def test_fuzz_reader(tmp_path, fmt, reader_fmt):
    rng = np.random.default_rng(zlib.crc32(fmt.encode()))  # fixed: str hash() is salted per process
    seed = seed_file(tmp_path, fmt).read_bytes()
    target = tmp_path / ("fuzz." + fmt)
    header_len = header_length(seed, fmt)
    outcomes = []
    for case in range(N_CASES):
        data = bytearray(seed)
        mode = case % 4
        if mode == 0:  # flip random bytes in the body
            for _ in range(rng.integers(1, 20)):
                data[rng.integers(header_len, len(data))] = rng.integers(0, 256)
        elif mode == 1:  # truncate anywhere
            data = data[: rng.integers(0, len(data))]
        elif mode == 2:  # a header followed by random garbage
            data = data[:header_len] + bytearray(rng.integers(0, 256, rng.integers(0, 4000), dtype=np.uint8).tobytes())
        else:  # duplicate / delete a slice
            a, b = sorted(rng.integers(header_len, len(data), 2))
            data = data[:a] + data[a:b] * int(rng.integers(0, 3)) + data[b:]
        target.write_bytes(bytes(data))
        outcomes.append(check_one(target, reader_fmt))
    # both outcomes occur: damaged files are caught, and damage that keeps the format valid still decodes
    assert 0 < sum(outcomes) < len(outcomes)
