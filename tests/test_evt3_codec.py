"""Our EVT3 codec follows the format spec; expelliarmus' EVT3 timestamps do not (its issues #19/#20)."""

from __future__ import annotations

import numpy as np
import pytest

from sast_live.errors import EventFormatError
from sast_live.events import EVENT_DTYPE, make_events
from sast_live.formats import evt3_codec as codec
from sast_live.formats.evt3 import EVT3Reader, decode_bytes, write_evt3
from sast_live.formats.header import parse_header


def words(*ws) -> bytes:
    return np.array(ws, dtype="<u2").tobytes()


def test_golden_words_decode_per_spec():
    data = words(
        0x8001,  # TIME_HIGH 1 -> t = 4096
        0x6005,  # TIME_LOW 5 -> t = 4101
        0x0007,  # ADDR_Y 7
        0x2803,  # ADDR_X p=1 x=3
        0x300A,  # VECT_BASE_X p=0 x=10
        0x4005,  # VECT_12 bits 0 and 2 -> x = 10, 12; base -> 22
        0x5081,  # VECT_8 bits 0 and 7 -> x = 22, 29; base -> 30
        0x8002,  # TIME_HIGH 2 -> t = 8192 + 5 (low kept until updated)
        0x6000,  # TIME_LOW 0 -> t = 8192
        0x2001,  # ADDR_X p=0 x=1
    )
    ev = decode_bytes(data)
    assert ev["t"].tolist() == [4101, 4101, 4101, 4101, 4101, 8192]
    assert ev["x"].tolist() == [3, 10, 12, 22, 29, 1]
    assert ev["y"].tolist() == [7] * 6
    assert ev["p"].tolist() == [1, 0, 0, 0, 0, 0]


def test_time_high_wrap_and_backwards_jump():
    ev = decode_bytes(words(0x8FFF, 0x6FFF, 0x2000, 0x8000, 0x6001, 0x2001))
    assert ev["t"].tolist() == [(1 << 24) - 1, (1 << 24) + 1]
    with pytest.raises(EventFormatError, match="backwards"):
        decode_bytes(words(0x8100, 0x2000, 0x8050, 0x2000))


def test_events_before_first_time_high_are_skipped():
    ev = decode_bytes(words(0x0001, 0x2002, 0x8003, 0x2004))
    assert ev["x"].tolist() == [4] and ev["t"].tolist() == [3 << 12]
    # a TIME_LOW alone does not make a time: the events after it still wait for a TIME_HIGH
    ev = decode_bytes(words(0x6005, 0x0001, 0x2002, 0x4003, 0x8003, 0x2004))
    assert ev["x"].tolist() == [4] and ev["t"].tolist() == [(3 << 12) + 5]


@pytest.mark.parametrize("fall,wraps", [(4095, True), (4085, True), (4084, False), (2048, False), (1, False)])
def test_time_high_falls_from_4085_units_are_wraps_smaller_ones_are_errors(fall, wraps):
    """The 24-bit time base wraps when TIME_HIGH falls by ≥ 4085 units (4095 − 10 of slack); any smaller fall
    is time running backwards, an error."""
    data = words(0x8000 | fall, 0x2000, 0x8000, 0x2001)
    if wraps:
        assert decode_bytes(data)["t"].tolist() == [fall << 12, 1 << 24]
    else:
        with pytest.raises(EventFormatError, match="backwards"):
            decode_bytes(data)


def test_reserved_type_is_an_error_with_offset(tmp_path):
    p = tmp_path / "bad.raw"
    p.write_bytes(b"% evt 3.0\n% end\n" + words(0x8001, 0x2000, 0x9000))
    with pytest.raises(EventFormatError) as info:
        EVT3Reader(p).read()
    assert info.value.offset == len(b"% evt 3.0\n% end\n") + 4 and "reserved" in str(info.value)


def test_vector_overflow_is_an_error():
    with pytest.raises(EventFormatError, match="2047"):
        decode_bytes(words(0x8001, 0x37FA, 0x4FFF))


@pytest.mark.parametrize("seed", range(5))
def test_roundtrip_random_streams(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 5000
    t = np.sort(rng.integers(0, 40_000_000, n))  # crosses two 24-bit wraps
    t[100:200] = t[100]  # bursts at one timestamp exercise the vector words
    t = np.sort(t)
    x = rng.integers(0, 1280, n)
    x[100:200] = np.arange(100, 200) % 40 + 600
    ev = make_events(t, x, rng.integers(0, 720, n), rng.integers(0, 2, n))
    ev[100:200]["y"] = 5
    ev[100:200]["p"] = 1
    p = tmp_path / "rt.raw"
    write_evt3(p, ev, (1280, 720))
    back = EVT3Reader(p, chunk_events=333).read()
    assert np.array_equal(back, ev)


def test_roundtrip_late_start_keeps_absolute_time(tmp_path):
    ev = make_events([50_000_000, 50_000_001, 90_000_000], [1, 2, 3], [0, 0, 0], [0, 1, 0])
    write_evt3(tmp_path / "late.raw", ev, (4, 4))
    assert np.array_equal(EVT3Reader(tmp_path / "late.raw").read(), ev)


@pytest.mark.slow
def test_chunked_decode_equals_whole(real_dir):
    path = real_dir / "expelliarmus" / "evt3_sample.raw"
    whole = EVT3Reader(path).read()
    for cap in (12, 1000, 4097):
        assert np.array_equal(np.concatenate(list(EVT3Reader(path, chunk_events=cap).chunks())), whole)


def _time_words(path):
    header = parse_header(path.read_bytes()[:65536])
    w = np.frombuffer(path.read_bytes()[header.size :], dtype="<u2")
    return w >> 12, w & 0xFFF


@pytest.mark.parametrize("name", ["evt3_sample.raw", "evt3_test_pedestrians.raw"])
def test_expelliarmus_evt3_timestamps_disagree_with_spec(real_dir, name):
    """expelliarmus adds 4096 µs whenever TIME_LOW falls. Per spec no fall of TIME_LOW is an overflow: on
    the real files each fall either follows a TIME_HIGH increment (which already carries the 4096 µs) or
    replaces a TIME_LOW value that no event used (the sensor's periodic look-ahead TIME_HIGH/TIME_LOW pair).
    So expelliarmus' times run ahead of the true ones by 4096 µs per fall."""
    from expelliarmus import Wizard

    path = real_dir / "expelliarmus" / name
    kinds, payload = _time_words(path)
    high, low, rose, used, falls, unexplained = None, None, False, False, 0, 0
    for k, v in zip(kinds.tolist(), payload.tolist(), strict=True):
        if k == codec.TIME_HIGH:
            rose = rose or (high is not None and v > high)
            high = v
        elif k == codec.TIME_LOW:
            if low is not None and v < low:
                falls += 1
                unexplained += not (rose or not used)
            low, rose, used = v, False, False
        elif k in (codec.ADDR_X, codec.VECT_12, codec.VECT_8):
            used = True
    assert falls > 0 and unexplained == 0
    ours = EVT3Reader(path).read()
    theirs = Wizard(encoding="evt3").read(str(path))
    assert np.array_equal(ours[["x", "y", "p"]], theirs[["x", "y", "p"]])  # where it is right: addresses
    drift = theirs["t"] - ours["t"]
    assert drift[0] == 0 and np.all(np.diff(drift) >= 0)
    assert np.all(drift % 4096 == 0)  # whole spurious 4096 µs steps ...
    assert drift[-1] // 4096 == falls  # ... one per fall of TIME_LOW


@pytest.mark.parametrize("width,event_words,message", [
    (8, (0x0003, 0x2009), "x=9, y=3 outside the 8x8 sensor"),  # ADDR_Y 3, ADDR_X 9
    (7, (0x0002, 0x3006, 0x4003), "x=7, y=2 outside the 7x8 sensor"),  # vector base 6, bits 0 and 1: x 6, x 7
])
def test_an_event_outside_the_header_geometry_is_caught_in_the_decoding_pass(tmp_path, width, event_words, message):
    """The reader no longer re-checks decoded chunks: the codec checks the bounds as it decodes, and the error
    reads as check_events words it."""
    p = tmp_path / "outside.raw"
    p.write_bytes(f"% format EVT3;height=8;width={width}\n% end\n".encode() + words(0x8001, *event_words))
    with pytest.raises(EventFormatError, match=message):
        EVT3Reader(p).read()
    state, out = codec.initial_state(), np.zeros(32, dtype=EVENT_DTYPE)
    n, _, err, _ = codec.decode_evt3_words(np.array([0x8001, *event_words], np.uint16), state, out, 100, 100)
    assert err == codec.OK and n >= 1  # inside a larger sensor: fine


def test_dense_vector_words_span_several_output_blocks(tmp_path):
    """The reader sizes its output blocks for two events a word; a run of full 12-event vectors overflows that
    many times over and must come out whole, in order, equal to the one-block decoding."""
    body = words(0x8001, 0x0005, 0x3000, *([0x4FFF] * 150), 0x2007)  # 1,800 vector events and one ADDR_X
    p = tmp_path / "dense.raw"
    p.write_bytes(b"% format EVT3;height=16;width=2048\n% end\n" + body)
    got = EVT3Reader(p).read()
    assert len(got) == 1801 and np.array_equal(got, decode_bytes(body))
    assert got["x"][:13].tolist() == list(range(13)) and got["x"][-1] == 7
