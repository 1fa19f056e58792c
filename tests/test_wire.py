"""Serial wire protocols: eDVS4337 records and framed EVT2 — round trips, the numba/reference twin, fuzzing."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from firmware_sim.camera_board import corrupt
from sast_live.events import SensorSize, make_events
from sast_live.formats.registry import read_events
from sast_live.wire import edvs, framed
from sast_live.wire.evt2_words import decode_wire_words, encode_wire_words
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
    held, st = edvs.decode_edvs(data, edvs.EdvsState())
    # the last records wait for the bytes after them, until the line goes quiet (flush)
    assert len(st.pending) == edvs.RECORD * edvs.LOOKAHEAD and len(held) == len(demo) - edvs.LOOKAHEAD
    rest, st = edvs.decode_edvs(b"", st, flush=True)
    whole = np.concatenate([held, rest])
    assert st.skipped == 0 and st.resyncs == 0 and st.discarded == 0 and st.events == len(demo) and not st.pending
    np.testing.assert_array_equal(whole[["x", "y", "p"]], demo[["x", "y", "p"]])
    # so the 16-bit stamps alone give the exact times
    np.testing.assert_array_equal(whole["t"] - whole["t"][0], demo["t"] - demo["t"][0])
    st, parts = edvs.EdvsState(), []
    for piece in split(data, np.random.default_rng(1)):
        ev, st = edvs.decode_edvs(piece, st)
        parts.append(ev)
    parts.append(edvs.decode_edvs(b"", st, flush=True)[0])
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_edvs_idle_time_restores_pauses_longer_than_a_wrap():
    a = make_events([10, 20_000, 60_000], [1, 2, 3], [4, 5, 6], [1, 0, 1])
    b = make_events([60_000 + 200_123, 60_000 + 200_500], [7, 8], [9, 10], [0, 1])  # 200 ms of silence
    ev1, st = edvs.decode_edvs(edvs.encode_edvs(a), edvs.EdvsState(), flush=True)  # then the line went quiet
    # the host saw the line empty for 185 ms (it saw it empty every 20 ms at most; the pause was 200 ms); the
    # stamps alone show 200_123 mod 2^16
    ev2, st = edvs.decode_edvs(edvs.encode_edvs(b)[:1], st, idle_us=185_000)  # a record split across reads
    ev3, st = edvs.decode_edvs(edvs.encode_edvs(b)[1:], st, idle_us=0)
    ev4, st = edvs.decode_edvs(b"", st, flush=True)
    np.testing.assert_array_equal(np.concatenate([ev1, ev2, ev3, ev4])["t"], np.r_[a["t"], b["t"]])
    _, plain = edvs.decode_edvs(edvs.encode_edvs(b), ev1_state(a), flush=True)
    assert plain.t_last == 60_000 + 200_500 - 3 * edvs.WRAP_US  # without the host's help three wraps are lost


def ev1_state(a):
    return edvs.decode_edvs(edvs.encode_edvs(a), edvs.EdvsState(), flush=True)[1]


@pytest.mark.parametrize("error_ms", [-31, -20, -5, 0, 20, 31])
def test_edvs_idle_time_counts_the_nearest_number_of_wraps(error_ms):
    """A silent pause of 2 wraps + 10 ms: an idle time off by up to ±31 ms (less than half a wrap) still gives
    two wraps; the margin is half a wrap on both sides (a margin of zero or of 16 ms fails some of these)."""
    pause = 2 * edvs.WRAP_US + 10_000
    a = make_events([0, 50], [1, 2], [3, 4], [1, 1])
    b = make_events([50 + pause], [5], [6], [0])
    got, _ = edvs.decode_edvs(edvs.encode_edvs(b), ev1_state(a), idle_us=pause + error_ms * 1000, flush=True)
    assert got["t"].tolist() == [50 + pause]


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


@pytest.mark.slow
def test_edvs_kernel_matches_reference_twin_on_fuzzed_bytes():
    rng = np.random.default_rng(7)
    for _ in range(120):
        data = mutate(edvs.encode_edvs(random_events(300, rng)), rng)
        idle = int(rng.choice([-1, 0, 70_000, 300_000]))
        state = edvs.EdvsState(last16=int(rng.integers(-1, 65536)), t_last=int(rng.integers(0, 10**6)),
                               skipping=bool(rng.integers(0, 2)), run=int(rng.integers(0, 2 * edvs.RELOCK_ANYWAY)))
        flush = bool(rng.integers(0, 2))
        a, sa = edvs.decode_edvs(data, state, idle, flush)
        b, sb = edvs.decode_edvs(data, state, idle, flush, kernel=edvs.decode_edvs_reference)
        np.testing.assert_array_equal(a, b)
        assert sa == sb


def damaged(events, record: int, byte: int, kind: str) -> bytes:
    data = edvs.encode_edvs(events)
    off = edvs.RECORD * record + byte
    return data[:off] + data[off + 1:] if kind == "drop" else data[:off] + data[off:off + 1] + data[off:]


def lost_and_invented(sent, got) -> tuple[int, int]:
    """Records sent but not decoded, and decoded but never sent (x, y, p and the time since the first record)."""
    def key(e):
        t = (e["t"] - e["t"][0]).tolist()
        return Counter(zip(t, e["x"].tolist(), e["y"].tolist(), e["p"].tolist(), strict=True))

    s, g = key(sent), key(got)
    return sum((s - g).values()), sum((g - s).values())


def test_one_stray_byte_costs_one_resync_and_at_most_two_records():
    """The resync contract on the demo's event stream: one dropped or duplicated byte at a known offset, at every
    byte of a record, at 200 places (1,600 damaged streams): exactly one resync; at most two records lost and no
    record invented (also none with a shifted time, which would shift every later event) in all but a rare
    coincidence of stamp and coordinate bytes — measured over 64,000 such streams: 21, each with 3 lost and 1
    invented. The bounds below would fail with the look-ahead removed (the old decoder lost and invented
    thousands by shifting the time base), with every skipped byte counted as a resync, or with no discard."""
    ev_all = read_events(DEMO)
    worse = 0
    for j in range(2_000, 42_000, 200):
        events = ev_all[j - 100:j + 200]
        # what the undamaged bytes decode to (a pause longer than a wrap needs the host's idle time: not here)
        sent, clean = edvs.decode_edvs(edvs.encode_edvs(events), edvs.EdvsState(), flush=True)
        assert len(sent) == len(events) and clean.resyncs == 0
        for kind in ("drop", "dup"):
            for byte in range(edvs.RECORD):
                got, st = edvs.decode_edvs(damaged(events, 100, byte, kind), edvs.EdvsState(), flush=True)
                lost, invented = lost_and_invented(sent, got)
                assert st.resyncs == 1 and lost <= 3 and invented <= 1, (j, kind, byte, lost, invented, st.resyncs)
                assert st.skipped // edvs.RECORD + st.discarded <= lost <= -(-st.skipped // edvs.RECORD) + \
                    st.discarded + invented  # the counters say what was lost
                worse += lost > 2 or invented > 0
    assert worse <= 2  # of 1,600 (the measured rate, 21 in 64,000, would give 0.5)


@pytest.mark.parametrize("step_us", [3, 60, 3_000, 40_000])
def test_a_clean_stream_decodes_exactly_at_any_density(step_us):
    """At the eDVS line rate (an event every 3 µs, random pixels and polarities: a byte phase made of low stamp
    bytes steps plausibly too), at the demo's density, and sparse: no resync, every event, exact times."""
    rng = np.random.default_rng(step_us)
    t = np.cumsum(rng.integers(max(1, step_us // 2), step_us * 3 // 2 + 1, 20_000))
    ev = make_events(t, rng.integers(0, 128, len(t)), rng.integers(0, 128, len(t)), rng.integers(0, 2, len(t)))
    st, parts = edvs.EdvsState(), []
    for piece in split(edvs.encode_edvs(ev), rng):
        got, st = edvs.decode_edvs(piece, st)
        parts.append(got)
    parts.append(edvs.decode_edvs(b"", st, flush=True)[0])
    got = np.concatenate(parts)
    assert st.resyncs == 0 and st.discarded == 0
    np.testing.assert_array_equal(got[["x", "y", "p"]], ev[["x", "y", "p"]])
    np.testing.assert_array_equal(got["t"] - got["t"][0], ev["t"] - ev["t"][0])


def test_one_stray_byte_in_a_sparse_stream():
    """Events 1.5–4.5 ms apart: steps too large for the stamps to tell a garbled byte phase from the true one,
    so the records around the damage are refused on sync bits (8 of look-ahead) instead. Measured over 960
    damaged streams: one resync each, 7 records lost (median; at most 9), invented records in 8 % (at most 3)."""
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.integers(1_500, 4_501, 2_000))
    ev = make_events(t, rng.integers(0, 128, len(t)), rng.integers(0, 128, len(t)), rng.integers(0, 2, len(t)))
    sent = Counter(zip(ev["x"].tolist(), ev["y"].tolist(), ev["p"].tolist(), strict=True))
    results = []
    for j in range(100, 1_900, 30):
        for kind in ("drop", "dup"):
            for byte in range(edvs.RECORD):
                got, st = edvs.decode_edvs(damaged(ev, j, byte, kind), edvs.EdvsState(), flush=True)
                g = Counter(zip(got["x"].tolist(), got["y"].tolist(), got["p"].tolist(), strict=True))
                results.append((st.resyncs, sum((sent - g).values()), sum((g - sent).values())))
    resyncs, lost, invented = np.array(results).T
    assert np.all(resyncs == 1) and lost.max() <= 12 and invented.max() <= 3
    assert np.mean(invented > 0) <= 0.15


@pytest.mark.parametrize("seed", range(4))
def test_edvs_decoder_survives_garbage_drops_and_duplicates(seed):
    rng = np.random.default_rng(seed)
    ev = random_events(5000, rng)
    st, out = edvs.EdvsState(), []
    for piece in split(mutate(edvs.encode_edvs(ev), rng), rng):
        got, st = edvs.decode_edvs(piece, st, int(rng.integers(-1, 100_000)))
        out.append(got)
    got = np.concatenate(out)
    assert np.all(np.diff(got["t"]) >= 0) and st.events == len(got)  # unwrapped times never run backwards
    assert st.skipped > 0 and st.resyncs > 0  # the damage was seen and counted


# -- EVT2 words and framed --------------------------------------------------------------------------------------
def test_evt2_words_match_the_prophesee_reader(tmp_path, demo):
    from sast_live.formats.header import format_header

    words = encode_wire_words(demo)
    path = tmp_path / "w.raw"
    path.write_bytes(format_header("EVT2", SensorSize(128, 128)) + words.astype("<u4").tobytes())
    np.testing.assert_array_equal(read_events(path), demo)  # expelliarmus decodes our words to the same events
    back, _ = decode_wire_words(words)
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
