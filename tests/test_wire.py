"""Serial wire protocols: eDVS4337 records and framed EVT2 — round trips, the numba/reference twin, fuzzing."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim.camera_board import corrupt
from sast_live.events import SensorSize, make_events
from sast_live.formats.registry import read_events
from sast_live.wire import edvs, framed
from sast_live.wire.evt2_words import decode_words, encode_words
from tests.conftest import REPO

DEMO = REPO / "sast_live" / "assets" / "demo_gestures.raw"


@pytest.fixture(scope="module")
def demo():
    ev = read_events(DEMO)
    return ev[ev["t"] < 4_000_000]


def random_events(n, rng, size=128, t_step=300):
    t = np.cumsum(rng.integers(0, t_step, n))
    return make_events(t, rng.integers(0, size, n), rng.integers(0, size, n), rng.integers(0, 2, n))


def split(data: bytes, rng) -> list[bytes]:
    cuts = np.sort(rng.integers(0, len(data), 40))
    return [data[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(data)], strict=True)]


# -- eDVS -----------------------------------------------------------------------------------------------------
def test_edvs_round_trip_chunked_equals_whole(demo):
    demo = demo[demo["t"] < 1_990_000]  # the first gesture: no pause longer than one 65.5 ms wrap
    data = edvs.encode_edvs(demo)
    whole, st = edvs.decode_edvs(data, edvs.EdvsState())
    assert st.skipped == 0 and st.resyncs == 0 and st.events == len(demo)
    np.testing.assert_array_equal(whole[["x", "y", "p"]], demo[["x", "y", "p"]])
    # so the 16-bit stamps alone give the exact times
    np.testing.assert_array_equal(whole["t"] - whole["t"][0], demo["t"] - demo["t"][0])
    st, parts = edvs.EdvsState(), []
    for piece in split(data, np.random.default_rng(1)):
        ev, st = edvs.decode_edvs(piece, st)
        parts.append(ev)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_edvs_idle_time_restores_pauses_longer_than_a_wrap():
    a = make_events([10, 20_000, 60_000], [1, 2, 3], [4, 5, 6], [1, 0, 1])
    b = make_events([60_000 + 200_123, 60_000 + 200_500], [7, 8], [9, 10], [0, 1])  # 200 ms of silence
    ev1, st = edvs.decode_edvs(edvs.encode_edvs(a), edvs.EdvsState())
    # the host saw the line idle for 203 ms (arrival jitter included); the stamps alone show 200_123 mod 2^16
    ev2, st = edvs.decode_edvs(edvs.encode_edvs(b)[:1], st, idle_us=203_000)  # a record split across reads
    ev3, st = edvs.decode_edvs(edvs.encode_edvs(b)[1:], st, idle_us=0)
    np.testing.assert_array_equal(np.concatenate([ev1, ev2, ev3])["t"], np.r_[a["t"], b["t"]])
    _, plain = edvs.decode_edvs(edvs.encode_edvs(b), edvs.decode_edvs(edvs.encode_edvs(a), edvs.EdvsState())[1])
    assert plain.t_last == 60_000 + 200_500 - 3 * edvs.WRAP_US  # without the host's help three wraps are lost


def mutate(data: bytes, rng) -> bytes:
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(0, 256, rng.integers(1, 4000), dtype=np.uint8).tobytes()
    if kind == 1:
        return corrupt(data, float(rng.uniform(0.001, 0.2)), rng)[0]
    b = bytearray(data)
    for _ in range(rng.integers(1, 20)):
        i = int(rng.integers(0, max(len(b), 1)))
        if kind == 2:
            b[i:i + 1] = b[i:i + 1] * 2  # duplicated byte
        else:
            del b[i:i + int(rng.integers(1, 7))]  # dropped bytes
    return bytes(b)


def test_edvs_kernel_matches_reference_twin_on_fuzzed_bytes():
    rng = np.random.default_rng(7)
    for _ in range(120):
        data = mutate(edvs.encode_edvs(random_events(300, rng)), rng)
        idle = int(rng.choice([-1, 0, 70_000, 300_000]))
        state = edvs.EdvsState(last16=int(rng.integers(-1, 65536)), t_last=int(rng.integers(0, 10**6)),
                               skipping=bool(rng.integers(0, 2)))
        a, sa = edvs.decode_edvs(data, state, idle)
        b, sb = edvs.decode_edvs(data, state, idle, kernel=edvs.decode_edvs_reference)
        np.testing.assert_array_equal(a, b)
        assert sa == sb


@pytest.mark.parametrize("seed", range(4))
def test_edvs_decoder_survives_garbage_drops_and_duplicates(seed):
    rng = np.random.default_rng(seed)
    ev = random_events(5000, rng)
    st, out = edvs.EdvsState(), []
    for piece in split(mutate(edvs.encode_edvs(ev), rng), rng):
        got, st = edvs.decode_edvs(piece, st, int(rng.integers(-1, 100_000)))
        out.append(got)
    got = np.concatenate(out)
    assert np.all(got["x"] < 128) and np.all(got["y"] < 128) and np.all(got["p"] <= 1)
    assert np.all(np.diff(got["t"]) >= 0)
    assert st.skipped > 0 and st.resyncs > 0  # the damage was seen and counted


# -- EVT2 words and framed --------------------------------------------------------------------------------------
def test_evt2_words_match_the_prophesee_reader(tmp_path, demo):
    from sast_live.formats.header import format_header

    words = encode_words(demo)
    path = tmp_path / "w.raw"
    path.write_bytes(format_header("EVT2", SensorSize(128, 128)) + words.astype("<u4").tobytes())
    np.testing.assert_array_equal(read_events(path), demo)  # expelliarmus decodes our words to the same events
    back, _ = decode_words(words)
    np.testing.assert_array_equal(back, demo)


def test_framed_round_trip_chunked_equals_whole_and_counts_nothing(demo):
    data, n_frames = framed.encode_framed(demo)
    sensor = SensorSize(128, 128)
    whole, st = framed.decode_framed(data, framed.FramedState(), sensor)
    np.testing.assert_array_equal(whole, demo)
    st2, parts = framed.FramedState(), []
    for piece in split(data, np.random.default_rng(3)):
        ev, st2 = framed.decode_framed(piece, st2, sensor)
        parts.append(ev)
    np.testing.assert_array_equal(np.concatenate(parts), demo)
    for s in (st, st2):
        assert (s.frames, s.resyncs, s.crc_errors, s.lost_frames, s.skipped) == (n_frames, 0, 0, 0, 0)


def test_framed_byte_by_byte():
    """One byte per read, as a slow line delivers it: a CRC ending in 0xA5 must not pass for a magic."""
    ev = random_events(3000, np.random.default_rng(5))
    data, n = framed.encode_framed(ev)
    st, parts = framed.FramedState(), []
    for i in range(len(data)):
        got, st = framed.decode_framed(data[i:i + 1], st, SensorSize(128, 128))
        parts.append(got)
    np.testing.assert_array_equal(np.concatenate(parts), ev)
    assert st.resyncs == 0 and st.frames == n


@pytest.mark.parametrize("seed", range(4))
def test_framed_decoder_survives_fuzz_and_never_invents_events(seed):
    rng = np.random.default_rng(seed)
    ev = random_events(8000, rng)
    data = mutate(framed.encode_framed(ev)[0], rng)
    st, out = framed.FramedState(), []
    for piece in split(data, rng):
        got, st = framed.decode_framed(piece, st, SensorSize(128, 128))
        out.append(got)
    got = np.concatenate(out)
    assert np.all(np.diff(got["t"]) >= 0)
    # every event that passed a CRC is one that was sent
    sent = set(map(tuple, np.stack([ev["t"], ev["x"], ev["y"], ev["p"]], 1).tolist()))
    assert all(tuple(r) in sent for r in np.stack([got["t"], got["x"], got["y"], got["p"]], 1).tolist())
    if len(got) < len(ev):
        assert st.resyncs + st.crc_errors + st.lost_frames > 0
