"""Sources: paced replay against a target clock, loop and seek, serial ports (pseudo-terminals), bad input."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from firmware_sim.camera_board import CameraBoard, PtyLink
from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.formats.registry import read_events
from sast_live.sources import FileSource, open_source
from sast_live.sources.paced import Pacer
from sast_live.sources.serial_source import SerialSource
from tests.test_wire import DEMO


class FakeClock:
    """A clock that only moves when the code sleeps (or when the test makes it late)."""

    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


@pytest.fixture(scope="module")
def demo():
    return read_events(DEMO)


def test_pacing_follows_the_target_clock_and_lateness_does_not_accumulate():
    clock = FakeClock()
    pacer = Pacer(2.0, clock=clock, sleep=clock.sleep)
    stop = threading.Event()
    pacer.wait_until(0, stop)
    pacer.wait_until(1_000_000, stop)  # 1 s of sensor time at 2× = 0.5 s of wall time
    assert clock.now == pytest.approx(100.5)
    clock.now += 0.3  # the consumer was 0.3 s late …
    pacer.wait_until(2_000_000, stop)  # … so the next release waits only what is left: due at 101.0
    assert clock.now == pytest.approx(101.0)
    pacer.set_speed(1.0)  # re-anchored where it is: no jump
    pacer.wait_until(3_000_000, stop)
    assert clock.now == pytest.approx(102.0)


def test_a_lagging_source_does_not_burst_after_a_pause_or_a_speed_change():
    """A renderer slower than the speed asks releases late; pausing then re-anchors at what was released, not at
    the clock's position ahead of it (which had let every slice up to there out at once on play)."""
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    stop = threading.Event()
    pacer.wait_until(0, stop)
    clock.now += 2.0  # 2 s of wall time to render the first second
    pacer.wait_until(1_000_000, stop)
    pacer.set_paused(True)
    clock.now += 5.0
    pacer.set_paused(False)
    pacer.wait_until(1_100_000, stop)  # 100 ms after the last release, not released at once
    assert clock.now == pytest.approx(107.1)
    clock.now += 1.0  # late again, then from 1× to 2×
    pacer.wait_until(1_200_000, stop)
    pacer.set_speed(2.0)
    pacer.wait_until(1_400_000, stop)
    assert clock.now == pytest.approx(108.2)
    pacer.set_speed(None)  # as fast as possible, far ahead of the clock, then back to 1×: no long wait
    pacer.wait_until(9_000_000, stop)
    pacer.set_speed(1.0)
    pacer.wait_until(9_050_000, stop)
    assert clock.now == pytest.approx(108.25)


def test_paused_steps_release_one_bin_at_a_time():
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    stop = threading.Event()
    pacer.wait_until(0, stop)
    pacer.wait_until(100_000, stop)
    pacer.set_paused(True)
    released = []
    gate = threading.Thread(target=lambda: [pacer.wait_until(t, stop) or released.append(t)
                                            for t in range(105_000, 200_000, 5_000)], daemon=True)
    pacer._sleep = lambda s: pacer._wake.wait(0.01)  # the waiting thread naps for real (the clock stands still)
    gate.start()
    gate.join(0.3)
    assert released == []  # paused: nothing goes
    pacer.step(25_000)
    gate.join(0.3)
    assert released == [105_000, 110_000, 115_000, 120_000, 125_000]
    stop.set()
    gate.join(2)


def test_file_source_as_fast_as_possible_equals_the_file_and_loops_forward(demo):
    with FileSource(DEMO, speed=None) as src:
        got = np.concatenate(list(src))
    np.testing.assert_array_equal(got, demo)
    assert src.stats.events == len(demo) and not src.realtime
    with FileSource(DEMO, speed=None, loop=True) as src:
        out, n = [], 0
        for chunk in src:
            out.append(chunk)
            n += len(chunk)
            if n > 2 * len(demo) + 10:
                break
    looped = np.concatenate(out)
    assert np.all(np.diff(looped["t"]) >= 0)  # a second lap continues the clock
    np.testing.assert_array_equal(looped[len(demo):2 * len(demo)][["x", "y", "p"]], demo[["x", "y", "p"]])


def test_seek_jumps_in_the_file_but_time_runs_forward(demo):
    src = FileSource(DEMO, speed=None)
    out = []
    with src:
        for i, chunk in enumerate(src):
            out.append(chunk)
            if i == 10:
                src.seek(8_000_000)
    got = np.concatenate(out)
    assert np.all(np.diff(got["t"]) >= 0)
    tail = demo[demo["t"] >= 8_000_000]
    np.testing.assert_array_equal(got[-len(tail):][["x", "y", "p"]], tail[["x", "y", "p"]])
    assert len(got) < len(demo)


def test_open_source_names_what_is_wrong(tmp_path):
    with pytest.raises(SastLiveError, match="no such file or source"):
        open_source(tmp_path / "missing.raw")
    with pytest.raises(SastLiveError, match="unknown synthetic"):
        open_source("synthetic:digits")
    with pytest.raises(SastLiveError, match="say which port"):
        open_source("edvs:")
    with pytest.raises(SastLiveError, match="cannot open serial port"):
        open_source(f"edvs:{tmp_path / 'ttyNOPE'}").open()


def serve(board, link):
    stop = threading.Event()
    t = threading.Thread(target=board.serve, args=(link, stop), daemon=True)
    t.start()
    return stop, t


@pytest.mark.parametrize("protocol", ["edvs", "framed"])
def test_serial_source_reads_the_emulated_board_exactly(demo, protocol, tmp_path):
    part = demo[demo["t"] < 1_500_000]
    link = PtyLink.open(tmp_path / "camera")  # the tests run in parallel: see test_a_pty_link_goes_with_its_board
    board = CameraBoard(part, protocol, speed=3.0)
    stop, thread = serve(board, link)
    src = SerialSource(link.path, protocol, reconnect_s=0.2)
    got = []
    with src:
        for chunk in src:
            got.append(chunk)
            if sum(map(len, got)) >= len(part):
                break
    stop.set()
    link.close()
    got = np.concatenate(got)
    np.testing.assert_array_equal(got[["x", "y", "p"]], part[["x", "y", "p"]])
    np.testing.assert_array_equal(got["t"] - got["t"][0], part["t"] - part["t"][0])
    assert src.stats.resyncs == 0 and src.stats.losses == 0


def test_a_burst_held_up_on_the_cameras_side_is_not_read_as_a_pause():
    """eDVS stamps wrap every 65.5 ms; the host restores the wraps of a still scene from the time it saw the line
    empty. Bytes held up on the camera's side (a USB bridge, a stalled board) leave the line empty too, but then
    their stamps span the silence: the bound keeps the wraps out. After a still scene the burst is short and the
    idle time counts, as before. No port: the source's decoding and its bound, with the host times given."""
    from sast_live.wire import edvs

    t = np.arange(0, 40_000, 400)  # 40 ms of a moving hand, an event every 0.4 ms
    before = make_events(t, t % 100, t % 90, t % 2)

    def resumed(after):
        src = SerialSource("unused", "edvs")
        src.feed(edvs.encode_edvs(before), -1, flush=True)
        data = edvs.encode_edvs(after)
        return src, data

    # held up for 70 ms: the host saw the line empty for 60 ms, then read the 70 ms of events at once, 72 ms after
    # the last bytes before it; the stamps alone are right, and 60 ms of idle time would add a whole wrap
    held = make_events(40_000 + np.arange(400, 70_400, 400), np.full(175, 5), np.full(175, 6), np.zeros(175))
    src, data = resumed(held)
    idle = src._bounded_idle(data, 60_000, 72_000)
    assert edvs.extra_wraps(60_000, 400) == 1 and edvs.extra_wraps(idle, 400) == 0
    np.testing.assert_array_equal(src.feed(data, idle, flush=True)["t"], held["t"])
    # a still scene of 200 ms (three wraps and 3.4 ms), then the hand again: the host read 50 ms of it
    pause = make_events(39_600 + 200_000 + np.arange(0, 50_000, 400), np.full(125, 5), np.full(125, 6),
                        np.zeros(125))
    src, data = resumed(pause)
    idle = src._bounded_idle(data, 185_000, 255_000)
    np.testing.assert_array_equal(src.feed(data, idle, flush=True)["t"], pause["t"])


def test_a_pty_link_goes_with_its_board(tmp_path):
    """A host retrying a closed board's /dev/pts/N can reach the next pty given that number (the kernel hands out
    the lowest free one); the link is removed before the pty closes, so a host given the link finds nothing."""
    path = tmp_path / "camera"
    first = PtyLink.open(path)
    assert first.path == str(path) and os.readlink(path) == first.tty
    first.close()
    assert not os.path.lexists(path)
    second = PtyLink.open()
    try:
        with pytest.raises(SastLiveError, match="cannot open serial port"):
            SerialSource(str(path), "edvs").open()
        os.symlink(second.tty, path)  # left behind by a board that was killed: replaced
        third = PtyLink.open(path)
        assert os.readlink(path) == third.tty
        third.close()
    finally:
        second.close()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SastLiveError, match="not a symbolic link"):
        PtyLink.open(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_unplugged_port_is_reported_and_iteration_ends_without_raising(demo, tmp_path):
    link = PtyLink.open(tmp_path / "camera")
    board = CameraBoard(demo[:4000], "edvs", speed=4.0)
    stop, _ = serve(board, link)
    src = SerialSource(link.path, "edvs", reconnect_s=0.6)
    got = []
    with src:
        for chunk in src:
            got.append(chunk)
            if sum(map(len, got)) >= 1500 and link.master >= 0:
                stop.set()
                link.close()  # the cable is pulled
    assert sum(map(len, got)) >= 1500
    assert src.stats.errors >= 1 and src.stats.last_error and src.stats.reconnects == 0


def test_synthetic_gestures_stream_is_labelled_and_ordered():
    src = open_source("synthetic:gestures", speed=None)
    src.count = 1
    with src:
        got = np.concatenate(list(src))
    assert src.sensor_size == (128, 128) and len(got) > 1000 and np.all(np.diff(got["t"]) >= 0)
    (cls, t0, t1), = src.labels
    assert t1 - t0 == 2_000_000 and got["t"][-1] < 2_200_000
    # the label names the gesture that was rendered: the events are that class's sample
    from sast_live.synthetic import gestures

    np.testing.assert_array_equal(got, gestures.make_sample(cls, 0, duration_s=2.0))


def test_the_stand_in_person_renders_the_next_segment_while_one_plays(monkeypatch):
    """Rendering a 2.5-s segment takes about a second; rendered in turn on the reader thread the stream stalled at
    every segment and then burst to catch up (a 2-s take held in the window got 0.1–4 s of the person). The next one
    is now rendered, on a thread of its own, before the current one is handed out; same events, same order."""
    from sast_live.synthetic import people

    real, calls = people.make_sequence, []

    def recorded(person, script, seed):
        calls.append((seed, threading.current_thread().name))
        return real(person, [(c, 0.3, light) for c, _, light in script], seed=seed)  # short: a fast test

    monkeypatch.setattr(people, "make_sequence", recorded)
    src = open_source("synthetic:people:hand_clap,arm_roll", speed=None)
    slices = src._slices()
    first = next(slices)
    for _ in range(200):  # the second segment is under way (or done) before the first has been consumed
        if len(calls) >= 2:
            break
        threading.Event().wait(0.01)
    assert [seed for seed, _ in calls[:2]] == [0, 1] and all(name.startswith("synthetic-person") for _, name in calls)
    got = [first] + [next(slices) for _ in range(100)]
    src.close()
    slices.close()
    person = people.subject(people.TEST_SUBJECTS[0])
    expect = []
    t_base = 0
    for k, motion in enumerate(("hand_clap", "arm_roll", "hand_clap")):
        ev, spans = real(person, [(people.MOTIONS[motion], 0.3, people.LIGHTINGS[0])], seed=k)
        ev["t"] += t_base
        expect.append(ev)
        t_base += spans[-1][2]
    expect = np.concatenate(expect)
    streamed = np.concatenate([ev for _, _, ev in got])
    n = min(len(streamed), len(expect))
    assert n > 1000 and np.array_equal(streamed[:n], expect[:n])  # the same stream as rendering in turn
    assert [people.MOTION_NAMES[c] for c, _, _ in src.labels[:2]] == ["hand_clap", "arm_roll"]


def test_usb_camera_discovery_with_none_plugged_in_says_so():
    """dv-processing's own discovery, on a machine with no camera: a clear error, for dv: and for dv:SERIAL."""
    for spec in ("dv:", "dv:DVXplorer_DXA00093"):
        with pytest.raises(SastLiveError, match="no USB event camera found"):
            open_source(spec)


def test_usb_camera_is_picked_by_serial_or_model():
    from types import SimpleNamespace

    from sast_live.sources.dv_camera import find_camera

    cams = [SimpleNamespace(serialNumber="DXA00093", cameraModel="DVXplorer"),
            SimpleNamespace(serialNumber="00000499", cameraModel="DAVIS346")]
    dv = SimpleNamespace(io=SimpleNamespace(camera=SimpleNamespace(discover=lambda: cams)))
    assert find_camera(dv) is cams[0] and find_camera(dv, "00000499") is cams[1]
    assert find_camera(dv, "davis") is cams[1]
    with pytest.raises(SastLiveError, match="no USB event camera 'DVS128'; found: DVXplorer DXA00093, DAVIS346"):
        find_camera(dv, "DVS128")


def test_usb_camera_events_come_through_the_aedat4_path(real_dir):
    """The camera's event path, fed by dv-processing's own recording object instead of a camera: the same
    events as the AEDAT 4 reader, in order, then the stream ends."""
    import dv_processing as dv

    from sast_live.formats.registry import read_events
    from sast_live.sources.dv_camera import DVCamera

    path = real_dir / "tonic" / "sample.aedat4"
    src = DVCamera(device=dv.io.MonoCameraRecording(str(path)))
    with src:
        got = np.concatenate(list(src))
    assert src.sensor_size == (320, 240) and src.name.startswith("camera ")
    np.testing.assert_array_equal(got, read_events(path))
    assert src.stats.events == len(got) == 111_954
