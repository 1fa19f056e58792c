"""The demo features of the window (issue 16): timeline with the prediction strip and ground truth, stepping and
seeking, display controls, the network-input view, the energy panel, exports and keyboard shortcuts — driven
through Qt (offscreen) and checked by what they change. Pure helpers are checked against plain NumPy."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from tests.test_gui import qapp, spin  # noqa: F401 - the fixture
from tests.test_wire import DEMO

pytestmark = pytest.mark.gui


# -- pure helpers -------------------------------------------------------------------------------------------
def test_accumulate_counts_on_minus_off_in_the_window_with_each_decay():
    from sast_live.transforms.event_image import accumulate

    ev = make_events(np.array([0, 10_000, 40_000, 50_000]), np.array([1, 1, 2, 3]), np.array([0, 0, 1, 2]),
                     np.array([1, 1, 0, 1]))
    chunks = [ev[:2], ev[2:]]
    f = accumulate(chunks, 4, 3, 45_000)  # the window reaches back to 5 ms: the first event is out
    assert f[0, 1] == 1 and f[1, 2] == -1 and f[2, 3] == 1 and f.sum() == 1
    lin = accumulate(chunks, 4, 3, 50_000, "linear")
    assert np.isclose(lin[0, 1], (1 - 50 / 50) + (1 - 40 / 50)) and np.isclose(lin[1, 2], -(1 - 10 / 50))
    ex = accumulate(chunks, 4, 3, 50_000, "exponential")
    assert np.isclose(ex[2, 3], 1.0) and np.isclose(ex[1, 2], -np.exp(-3 * 10 / 50))
    assert accumulate([], 4, 3, 50_000).shape == (3, 4)
    with pytest.raises(SastLiveError, match="decay"):
        accumulate(chunks, 4, 3, 1000, "cubic")


@pytest.mark.parametrize("speed, want", [(1.0, [0, 80, 80, 80, 160, 160, 160, 160, 160, 160, 240]),
                                         (2.0, [0, 80, 160, 160, 160, 240])])
def test_the_video_runs_on_the_recordings_clock_whatever_the_frame_times(tmp_path, speed, want):
    """Frames drawn at stream times 0, 0.1, 0.35 and 1.0 s into a 10-fps video: each output frame shows what was
    on screen at its time (at 2×, a video second is two recording seconds)."""
    import subprocess

    import imageio_ffmpeg

    from sast_live.gui.export import VideoWriter

    video = VideoWriter(tmp_path / "clock.mp4", fps=10, speed=speed)
    for value, t in ((0, 0.0), (80, 0.1), (160, 0.35), (240, 1.0)):
        video.add(np.full((32, 48, 3), value, np.uint8), t)
    assert video.close() == len(want)
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "clock.mp4"), "-f",
                          "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 32 * 48)
    got = [int(round(f.mean() / 80) * 80) for f in frames]
    assert got == want
    with pytest.raises(SastLiveError, match="positive"):
        VideoWriter(tmp_path / "x.mp4", fps=10, speed=0)


def test_the_class_colours_stay_apart_with_each_colour_vision_deficiency():
    """Twelve classes, the no-gesture grey, the unfamiliar plum and the strip's black: ΔE ≥ 13 between any two for
    normal, protan, deutan and tritan vision (the earlier palette: 4.3 under protanopia — the check can fail)."""
    from sast_live.gui.palette import (
        CLASS_COLOURS,
        NO_GESTURE_COLOUR,
        STRIP_BACKGROUND,
        UNFAMILIAR_COLOUR,
        min_separation,
    )

    ours = min_separation(CLASS_COLOURS[:12] + [NO_GESTURE_COLOUR, UNFAMILIAR_COLOUR, STRIP_BACKGROUND])
    assert set(ours) == {"normal", "protanopia", "deuteranopia", "tritanopia"} and min(ours.values()) >= 13
    earlier = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
               (204, 121, 167), (160, 82, 45), (148, 103, 189), (23, 190, 207), (188, 189, 34), (255, 255, 255)]
    assert min_separation(earlier + [NO_GESTURE_COLOUR])["protanopia"] < 5
    assert min_separation([(255, 0, 0), (255, 0, 0)])["normal"] == 0


def test_activity_onset_finds_the_start_of_the_last_burst():
    from sast_live.pipeline.telemetry import activity_onset

    e = np.array([2, 3, 2, 2, 3, 2, 50, 60, 3, 55, 70])
    assert activity_onset(e) == 6  # one quiet bin inside the burst does not end it
    assert activity_onset(np.array([2, 2, 50, 2, 2, 2, 2])) is None  # the last bin is quiet: no burst under way
    assert activity_onset(np.array([50, 2, 60, 70])) is None  # the burst reaches back past the history's start


def test_the_decision_latency_is_measured_at_each_new_gesture_and_cleared_when_stale():
    """A switch from one gesture to another is measured too (it had kept "750 ms from the onset of hand clap"
    during right hand wave); an answer within a hop of the burst's start is not credited (it had said 25 ms); the
    figure goes two seconds after its gesture stopped being named."""
    from sast_live.pipeline.telemetry import LATENCY_STALE_US, Telemetry

    tel = Telemetry(3, 25_000)
    tel.min_latency_us = 250_000
    quiet, busy = [2] * 20, [80] * 20  # 500 ms each

    def feed(counts):
        tel.bins(np.zeros((len(counts), 1)), np.zeros(len(counts)), counts, np.zeros((len(counts), 2)))

    feed(quiet + busy)
    tel._latency(0, 1_000_000)
    assert tel.latency_s == pytest.approx(0.5) and tel.latency_class == 0
    feed(quiet + busy[:12])  # a second gesture, 300 ms in
    tel._latency(1, 1_800_000)
    assert tel.latency_s == pytest.approx(0.3) and tel.latency_class == 1
    feed(quiet + busy[:4])  # 100 ms into a burst: too soon to be its evidence, nothing credited
    tel._latency(2, 2_400_000)
    assert tel.latency_class == 1
    tel._latency(-1, 2_400_000 + LATENCY_STALE_US - 1)
    assert tel.latency_s is not None
    tel._latency(-1, 2_400_000 + LATENCY_STALE_US)
    assert tel.latency_s is None and tel.latency_class == -1


def test_tile_lays_channels_out_in_a_grid():
    from sast_live.gui.inspector import tile

    maps = np.arange(5 * 2 * 3).reshape(5, 2, 3)
    t = tile(maps)
    assert t.shape == (2 * 2 + 1, 3 * 3 + 2)  # 3 columns × 2 rows of 2×3 tiles, one-pixel gaps
    assert (t[0:2, 0:3] == maps[0]).all() and (t[3:5, 4:7] == maps[4]).all() and t[2, 0] == -1


def test_axis_tops_are_steady_and_round():
    from sast_live.gui.views import nice_ceiling, steady_top

    assert [nice_ceiling(v) for v in (0, 1, 1.5, 3, 7, 40, 120)] == [1, 1, 2, 5, 10, 50, 200]
    assert steady_top(50, 30) == 50 and steady_top(50, 12) == 50  # fits and fills a fifth: kept
    assert steady_top(50, 60) == 100 and steady_top(50, 9) == 10 and steady_top(None, 0) == 1


def test_lookup_tables_run_from_off_through_nothing_to_on():
    from sast_live.gui.palette import SCHEMES, lookup_table

    for name, (off, mid, on) in SCHEMES.items():
        lut = lookup_table(name)
        assert tuple(lut[0]) == off and tuple(lut[-1]) == on and np.abs(lut[128].astype(int) - mid).max() <= 2


# -- the window -------------------------------------------------------------------------------------------------
@pytest.fixture
def demo_window(qapp):  # noqa: F811
    from sast_live.gui.window import MainWindow
    from sast_live.session import Session, SourceOptions

    session = Session(SourceOptions(speed=4.0))
    win = MainWindow(session)
    win.resize(1400, 900)
    session.open(str(DEMO))
    win.show()
    yield win, session
    win.close()


@pytest.mark.slow
def test_timeline_paints_predictions_and_truth_steps_and_seeks(qapp, demo_window):  # noqa: F811
    from sast_live.gui.palette import NO_GESTURE_COLOUR, UNFAMILIAR_COLOUR, class_colour
    from sast_live.gui.timeline import NOTHING

    win, session = demo_window
    tl = win.dashboard.timeline
    spin(qapp, 60, until=lambda: tl.span is not None and session.windows_logged >= 8)
    assert tl.isVisible() and tl.span[0] < 1000 and tl.span[1] > 20e6  # the first event at 29 µs
    truth = tl.image[0]
    assert tuple(truth[tl._col(1_000_000)]) == class_colour(1)  # the labels file: right hand wave for 0–2.5 s
    said = tl.image[1]
    painted = said.any(axis=1)
    assert painted[:tl._col(1_500_000)].any()  # the first seconds carry what the app said
    colours = {tuple(c) for c in said[painted]}
    assert colours <= {class_colour(k) for k in range(12)} | {NO_GESTURE_COLOUR, UNFAMILIAR_COLOUR}
    # the legend names what the strip shows; the tooltip says what is under the mouse
    assert "right hand wave" in tl.legend.text() and "■" in tl.legend.text()
    assert "truth: right hand wave" in tl.describe_at(1.0) and tl.describe_at(1.0).startswith("1.00 s · said: ")
    spin(qapp, 30, until=lambda: "score so far: 2/" in tl.score.text())  # a labels file: the score as it plays
    assert "labelled gestures named by most of their windows" in tl.score.text() and "gesture" in tl.score.toolTip()
    labelled = win.dashboard.energy.labelled  # the energy panel: the latest labelled gesture's latency
    spin(qapp, 2, until=lambda: "labelled start of" in labelled.text())
    assert labelled.isVisibleTo(win) and "ms from the labelled start of" in labelled.text()

    win.controls.play.setChecked(True)  # paused: the arrows step one bin each
    spin(qapp, 1.0)
    pos = session.source.position_us
    bin_us = session.backend.bin_cfg.bin_us
    win.dashboard.timeline.forward.click()
    spin(qapp, 5, until=lambda: session.source.position_us >= pos + bin_us)
    assert session.source.position_us == pos + bin_us
    pos = session.source.position_us
    win.dashboard.timeline.back.click()  # re-fed from a window before, so the answer there is built as in a replay
    spin(qapp, 5, until=lambda: session.source.position_us == pos - bin_us)
    assert session.source.position_us == pos - bin_us
    spin(qapp, 0.5)
    assert session.source.position_us == pos - bin_us  # and it stays there, paused

    win.controls.play.setChecked(False)  # play on past 14 s, then go back to 12 s paused
    spin(qapp, 30, until=lambda: session.source.position_us > 14_000_000)
    win.controls.play.setChecked(True)
    spin(qapp, 0.3)
    assert (tl.classes_at[1, tl._col(12_500_000):tl._col(13_500_000)] != NOTHING).all()
    tl.seek_to(12.0)  # what a click or a drag on the strip does
    spin(qapp, 0.2)
    # paused: the file is re-fed from a window before 12 s up to a bin past it; nothing said later is kept from
    # before, the latency went with the history it was measured on
    assert tl.session.last_seek_us == 12_000_000 - session.history_us
    assert (tl.classes_at[1, tl._col(12_000_000 + 2 * bin_us):] == NOTHING).all()
    spin(qapp, 5, until=lambda: abs(session.source.position_us - 12_000_000) <= bin_us)
    spin(qapp, 5, until=lambda: win.last_snapshot.t_us > 0 and win.last_snapshot.decision_latency_s is None)
    assert win.last_snapshot.decision_latency_s is None and win.dashboard.energy.latency.text() == "—"
    assert abs(session.source.position_us - 12_000_000) <= bin_us
    spin(qapp, 1.0)
    pixel_s = (tl.span[1] - tl.span[0]) / 1e6 / max(tl.plot.width(), 1)  # the cursor moves a pixel at a time
    assert abs(tl.cursor.value() - session.source.position_us / 1e6) <= pixel_s and "paused" in tl.where.text()


def test_a_broken_labels_file_gives_no_truth_and_the_timeline_says_why(qapp, demo_window, tmp_path):  # noqa: F811
    win, session = demo_window
    tl = win.dashboard.timeline
    rec = tmp_path / "demo.raw"
    rec.write_bytes(DEMO.read_bytes())
    (tmp_path / "demo_labels.csv").write_bytes(b"1,0,2500000\n2,2000000,4000000\n")  # overlapping rows
    session.open(str(rec))
    spin(qapp, 30, until=lambda: tl.span is not None and tl._spec == str(rec))
    assert tl.truth == [] and "line 2 overlaps line 1" in tl.truth_problem
    assert "no ground truth" in tl.plot.toolTip() and not tl.image[0].any()  # the truth row stays empty
    spin(qapp, 0.3)
    assert not win.dashboard.energy.labelled.isVisibleTo(win) and tl.score.text() == ""  # no labels: no score


def test_display_controls_change_the_event_view(qapp, demo_window):  # noqa: F811
    """The display bar's window and decay reach the pipeline, whose next snapshot carries the image the view
    draws (the window computes nothing); the colours are the view's own."""
    win, session = demo_window
    spin(qapp, 30, until=lambda: win.frames_rendered > 10 and np.abs(win.last_snapshot.frame).sum() > 0)
    win.controls.play.setChecked(True)
    spin(qapp, 0.5)
    view = win.dashboard.events

    def shown_after(change):
        before = session.latest()
        change()
        spin(qapp, 10, until=lambda: session.latest() is not before and win.last_snapshot is session.latest())
        assert win.last_snapshot is not before
        return view.image.image.copy()

    short = view.image.image.copy()
    assert np.array_equal(short, win.last_snapshot.frame)
    long = shown_after(lambda: win.controls.accumulate.setValue(400))
    assert session.event_image.window_us == 400_000
    assert np.abs(long).sum() > np.abs(short).sum()  # more time, more events
    faded = shown_after(lambda: win.controls.decay.setCurrentText("exponential"))
    assert session.event_image.decay == "exponential" and np.abs(faded).sum() < np.abs(long).sum()
    win.controls.scheme.setCurrentText("orange / sky blue (Okabe-Ito, colour-blind safe)")
    assert tuple(view.image.lut[-1]) == (230, 159, 0)


def test_energy_panel_and_headline_agree_with_the_snapshot(qapp, demo_window):  # noqa: F811
    win, session = demo_window
    spin(qapp, 60, until=lambda: win.last_snapshot is not None and win.last_snapshot.last_window is not None
         and win.last_snapshot.synops_per_s > 0)
    win.controls.play.setChecked(True)
    spin(qapp, 0.5)
    snap = win.last_snapshot
    e = win.dashboard.energy
    assert f"estimated at {snap.pj_per_synop:g} pJ/SynOp" in e.title()
    assert e.power.text().startswith(f"{snap.synops_per_s * snap.pj_per_synop * 1e-9:,.3f} mW")
    w = snap.last_window
    assert e.per_inference.text().startswith(f"{w.synops * snap.pj_per_synop * 1e-6:,.2f} µJ")
    assert np.isclose(snap.layer_synops_per_s.sum(), snap.synops_per_s)
    assert e.per_layer.text().startswith("in→ ")
    k = snap.verdict
    if k >= 0:  # the headline and its bar say the same rounded percentage
        assert win.dashboard.prediction.top.full_text().endswith(win.dashboard.prediction.bars[k].format())


def test_network_input_view_shows_the_binned_input_and_a_layer(qapp, demo_window):  # noqa: F811
    win, session = demo_window
    win.inputs.show()
    spin(qapp, 30, until=lambda: win.last_snapshot is not None and win.last_snapshot.input_frame is not None
         and win.inputs.layer.count() > 0)
    snap = win.last_snapshot
    c, h, w = snap.input_frame.shape
    assert c == 2 and win.inputs.input_image.image.shape == (h, 2 * w + 1, 3)
    assert tuple(win.inputs.input_image.image[0, w]) == (110, 110, 120)  # the grey line between ON and OFF
    assert win.inputs.layer.count() == len(snap.layer_sizes)
    assert [int(np.prod(m.shape)) for m in snap.spike_maps] == list(snap.layer_sizes)
    win.inputs.layer.setCurrentIndex(1)
    win.inputs.update_view(snap)
    assert win.inputs.layer_caption.text().startswith("L2:")


@pytest.mark.slow
def test_exports_png_csv_and_video(qapp, demo_window, tmp_path):  # noqa: F811
    import imageio_ffmpeg

    from sast_live.gui import export

    win, session = demo_window
    spin(qapp, 30, until=lambda: win.frames_rendered > 5)
    png = export.save_png(win, tmp_path / "dash.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    session.set_speed(1.0)  # the video is on the recording's clock: at 4× it would hold 4× the frames to encode
    win.exports.start_csv(str(tmp_path / "bins.csv"))
    win.exports.start_video(str(tmp_path / "win.mp4"))
    shown = []  # the stream time of each frame handed to the video
    add = win.exports.video.add
    win.exports.video.add = lambda frame, t_s: shown.append(t_s) or add(frame, t_s)
    n0 = win.frames_rendered
    spin(qapp, 60, until=lambda: win.frames_rendered > n0 + 45)
    win.exports.stop_video()
    win.exports.stop_csv()
    with open(tmp_path / "bins.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    b = session.backend
    assert len(rows) >= 40
    assert list(rows[0])[:6] == ["t_s", "t_file_s", "file", "events", "dropped", "synops_in"]
    assert list(rows[0])[-2:] == ["decided", "truth"]
    assert f"score_{b.classes[0]}" in rows[0] and f"synops_L{len(b.layer_sizes)}" in rows[0]
    t = np.array([float(r["t_s"]) for r in rows])
    assert np.allclose(np.diff(t), b.bin_cfg.bin_us / 1e6)  # one row per bin, none missed
    assert sum(int(r["events"]) for r in rows) > 0
    # where in the recording, what the labels say there, what the app decided and how sure it was of each class
    assert {r["file"] for r in rows} == {"demo_gestures.raw"}
    t_file = np.array([float(r["t_file_s"]) for r in rows])
    assert np.allclose(t_file - t, t_file[0] - t[0]) and 0 <= t_file[0] < 20.5  # no loop or seek in between
    for r, tf in zip(rows, t_file, strict=True):
        inside = [k for k, a, e in win.dashboard.timeline.truth if a <= tf * 1e6 < e]
        assert r["truth"] == (b.classes[inside[0]] if inside else "no_gesture")
    decided = [r for r in rows if r["decided"]]
    assert decided and all(r["decided"] in (*b.classes, "unfamiliar_scene") for r in decided)
    confs = np.array([[float(r[f"conf_{c}"]) for c in b.classes] for r in decided])
    assert np.allclose(confs.sum(1), 1, atol=1e-4)
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "win.mp4"))  # decodes the whole file
    # on the recording's clock: as long as the stretch of recording the frames showed, whatever the window's rate
    # (its ~25 fps had been written as 36 fps: played 1.34× too fast); the clock itself is tested above
    span = shown[-1] - shown[0]
    assert span > 1 and abs(seconds - (span + 1 / 30)) <= 2 / 30 and frames == round(seconds * 30)


@pytest.mark.slow
def test_a_time_range_of_the_recording_is_replayed_into_a_csv_and_a_video_and_panels_into_figures(
        qapp, demo_window, tmp_path):  # noqa: F811
    """Export → Time range: the replay jumps to the start, the export holds exactly the bins (the video: the
    seconds) of the range, and stops at its end; each panel is written as an SVG or a PDF of its own."""
    import imageio_ffmpeg

    from sast_live.gui import export

    win, session = demo_window
    spin(qapp, 30, until=lambda: win.dashboard.timeline.span is not None and win.frames_rendered > 5)
    spin(qapp, 2.0)  # past the range's start: the export has to go back for it
    win.exports.start_range("csv", str(tmp_path / "range.csv"), 2.0, 4.0)
    spin(qapp, 30, until=lambda: win.exports.range is None)
    assert win.exports.range is None and win.exports.bin_csv is None and not win.exports.export_csv.isChecked()
    with open(tmp_path / "range.csv", newline="") as fh:
        t_file = np.array([float(r["t_file_s"]) for r in csv.DictReader(fh)])
    t0 = win.dashboard.timeline.span[0] / 1e6
    bin_s = session.backend.bin_cfg.bin_us / 1e6
    assert t_file.min() > t0 + 2.0 and t_file.max() <= t0 + 4.0 and np.allclose(np.diff(t_file), bin_s)
    assert len(t_file) >= round(2.0 / bin_s) - 2
    assert session.paused  # the replay stops where the range ends

    session.set_speed(1.0)  # a frame every ~33 ms of the recording: the video's ends are that close to the range's
    win.exports.start_range("video", str(tmp_path / "range.mp4"), 5.0, 6.5)
    spin(qapp, 30, until=lambda: win.exports.range is None)
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "range.mp4"))
    assert 1.3 <= seconds <= 1.7
    with pytest.raises(SastLiveError, match="not a range inside"):
        win.exports.start_range("csv", str(tmp_path / "bad.csv"), 4.0, 2.0)
    win.exports.start_range("csv", str(tmp_path / "cut.csv"), 1.0, 20.0)  # stopped by hand: the range goes too
    assert win.exports.export_csv.isChecked()
    with pytest.raises(SastLiveError, match="an export is under way"):
        win.exports.start_range("video", str(tmp_path / "two.mp4"), 1.0, 2.0)
    win.exports.export_csv.setChecked(False)
    assert win.exports.range is None and win.exports.bin_csv is None

    svg = export.save_vector(win.dashboard.prediction, tmp_path / "prediction.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "hand clap" in svg  # text stays text
    assert export.save_vector(win.dashboard.synops_plot, tmp_path / "synops.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(SastLiveError, match="as .svg or .pdf"):
        export.save_vector(win.dashboard.energy, tmp_path / "energy.png")
    with pytest.raises(SastLiveError, match="cannot write"):
        export.save_vector(win.dashboard.energy, tmp_path / "no-such-folder" / "energy.svg")


@pytest.mark.slow
def test_the_export_menu_starts_and_stops_each_export_and_says_why_one_fails(qapp, demo_window, tmp_path,  # noqa: F811
                                                                            monkeypatch):
    """What a user clicks: the menu's CSV and video items (a save dialog, then checked while they run; unchecked
    stops them), a cancelled dialog, and a folder that cannot be written (a message, the item unchecked)."""
    from PyQt6 import QtWidgets

    win, _ = demo_window
    said, answer = [], {}
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: said.append(a[2]))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a: (answer["path"], ""))
    spin(qapp, 30, until=lambda: win.frames_rendered > 3)
    answer["path"] = str(tmp_path / "bins.csv")
    win.exports.export_csv.trigger()
    assert win.exports.export_csv.isChecked() and win.exports.bin_csv is not None
    spin(qapp, 1.0)
    win.exports.export_csv.trigger()
    assert not win.exports.export_csv.isChecked() and win.exports.bin_csv is None
    assert (tmp_path / "bins.csv").stat().st_size > 100
    answer["path"] = str(tmp_path / "win.mp4")
    win.exports.export_video.trigger()
    assert win.exports.export_video.isChecked() and win.exports.video is not None
    n0 = win.frames_rendered
    spin(qapp, 30, until=lambda: win.frames_rendered > n0 + 10)
    win.exports.export_video.trigger()
    assert not win.exports.export_video.isChecked() and win.exports.video is None and (tmp_path / "win.mp4").is_file()
    answer["path"] = ""  # cancelled
    win.exports.export_video.trigger()
    assert not win.exports.export_video.isChecked() and win.exports.video is None
    answer["path"] = str(tmp_path / "no-such-folder" / "bins.csv")
    win.exports.export_csv.trigger()
    assert not win.exports.export_csv.isChecked() and win.exports.bin_csv is None and "no-such-folder" in said[-1]
    answer["path"] = str(tmp_path / "no-such-folder" / "win.mp4")  # said when it starts, not when it stops
    win.exports.export_video.trigger()
    assert not win.exports.export_video.isChecked() and win.exports.video is None
    assert "cannot write the video to" in said[-1] and "no-such-folder" in said[-1]


def test_shortcuts_do_what_the_help_says(qapp, demo_window):  # noqa: F811
    from PyQt6 import QtCore
    from PyQt6.QtTest import QTest

    win, session = demo_window
    win.activateWindow()
    spin(qapp, 20, until=lambda: win.frames_rendered > 3)
    keys = QtCore.Qt.Key

    def press(key, mod=QtCore.Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(win, key, mod)
        spin(qapp, 0.05)

    press(keys.Key_Space)
    assert win.controls.play.isChecked() and session.paused
    press(keys.Key_Space)
    assert not win.controls.play.isChecked()
    i = win.controls.speed.currentIndex()
    press(keys.Key_Plus)
    assert win.controls.speed.currentIndex() == i + 1
    press(keys.Key_Minus)
    assert win.controls.speed.currentIndex() == i
    press(keys.Key_L)
    assert win.controls.loop.isChecked() and session.sources.loop
    press(keys.Key_4)
    spin(qapp, 30, until=lambda: "int4" in session.backend.label)
    assert win.controls.precision.currentText() == "int4" and "int4" in session.backend.label
    press(keys.Key_I)
    assert win.inputs.isVisible()
    press(keys.Key_F1)
    assert win.controls.help.isVisible() and "Ctrl+E" in win.controls.help.text()
    press(keys.Key_Escape)
    assert not win.controls.help.isVisible()
    press(keys.Key_F)
    spin(qapp, 20, until=lambda: session.options.filters_on)
    assert win.controls.filter.isChecked() and session.options.filters_on


def test_the_port_box_does_not_show_a_port_as_connected(qapp, demo_window):  # noqa: F811
    win, _ = demo_window
    assert win.controls.ports.currentData() is None and "n/a" not in win.controls.ports.currentText()


def test_highlighting_a_class_or_a_new_headline_asks_for_no_new_layout(qapp):  # noqa: F811
    """The highlighted class is bold and the headline names it: neither may change the panel's size hints, or
    the window relays out and resizes (so fully redraws) every plot — 60–130 ms a frame, measured. The headline
    and its reason are elided to the panel (the whole text in the tooltip), never wider than it."""
    from types import SimpleNamespace

    from models.decision import Decision, explain, rule_text
    from sast_live.gui.views import PredictionPanel

    classes = ("arm_roll", "left_arm_counter_clockwise", "hand_clap", "no_gesture")
    decision = Decision(reject_class=3, min_confidence=0.55)
    panel = PredictionPanel(classes)
    panel.show()
    qapp.processEvents()
    hints = (panel.sizeHint().width(), panel.minimumSizeHint().width())
    for k in (-1, 0, 1, 2, -1, 1):
        smoothed = np.full(len(classes), 0.05)
        if k >= 0:
            smoothed[k] = 1.0
        name = "no_gesture" if k < 0 else classes[k]
        panel.update_view(SimpleNamespace(classes=classes, smoothed=smoothed, verdict=k, verdict_name=name,
                                          explanation=explain(decision, smoothed, k, classes),
                                          rule=rule_text(decision, classes)))
        qapp.processEvents()
        assert (panel.sizeHint().width(), panel.minimumSizeHint().width()) == hints, name
        # a named class highlights its own bar; no gesture (here below the floor) the no-gesture bar
        decided = k if k >= 0 else 3
        assert [lb.styleSheet() != "" for lb in panel.labels] == [i == decided for i in range(len(classes))]
    assert "at least 55%" in panel.toolTip()
    panel.resize(150, panel.height())
    qapp.processEvents()
    assert panel.top.is_elided() and panel.top.shown().endswith("…")
    assert panel.top.full_text() in panel.top.toolTip()
    assert "left arm counter clockwise" in panel.top.full_text()


@pytest.mark.slow
def test_a_region_and_a_hot_pixel_mask_are_set_in_the_window_and_drawn_on_the_event_view(qapp, demo_window):  # noqa: F811
    win, session = demo_window
    spin(qapp, 30, until=lambda: win.frames_rendered > 3)
    view = win.dashboard.events
    win.controls.region.setChecked(True)
    spin(qapp, 5, until=lambda: session.mask is not None and view.roi is not None)
    assert session.mask.roi == (16, 16, 112, 112) and view.roi_rect() == (16, 16, 112, 112)
    view.roi.setPos((10, 20))  # a drag ends: the region moves there
    spin(qapp, 5, until=lambda: session.mask.roi[:2] == (10, 20))
    assert session.mask.roi == (10, 20, 106, 116)
    win.controls.find_hot_pixels()
    spin(qapp, 30, until=lambda: session.mask.hot and len(view.hot.data) == len(session.mask.hot))
    assert session.mask.hot and len(view.hot.data) == len(session.mask.hot)  # a red cross on each
    spin(qapp, 5, until=lambda: "masked" in win.status.text())
    assert "masked" in win.status.text() and "hot pixel" in win.status.text()
    win.controls.clear_mask()
    spin(qapp, 5, until=lambda: not session.mask.hot)
    win.controls.region.setChecked(False)
    spin(qapp, 5, until=lambda: session.mask is None and view.roi is None and len(view.hot.data) == 0)
    assert not win.controls.region.isChecked()
    assert session.mask is None and view.roi is None and len(view.hot.data) == 0


def clipped_labels(win) -> list[str]:
    """Visible labels whose text is cut without saying so: plain labels wider than their room, and elided ones
    that do not carry their whole text in the tooltip."""
    import pyqtgraph as pg
    from PyQt6 import QtCore, QtWidgets

    from sast_live.gui.views import ElidedLabel

    bad = []
    for view in win.findChildren(pg.GraphicsView):  # the plots' titles are drawn in their scenes, not as QLabels
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem) and item.isVisible() and item.titleLabel.isVisible():
                text = item.titleLabel.item.boundingRect().width()
                if item.titleLabel.text and text > item.width() + 1:
                    bad.append(f"plot title {item.titleLabel.text!r} ({text:.0f} px in {item.width():.0f})")
    for label in win.findChildren(QtWidgets.QLabel):
        if not label.isVisibleTo(win) or label.wordWrap() or label.textFormat() == QtCore.Qt.TextFormat.RichText:
            continue
        if isinstance(label, ElidedLabel):
            if label.is_elided() and label.full_text() not in label.toolTip():
                bad.append(f"elided without its text in the tooltip: {label.full_text()!r}")
            continue
        text = label.text()
        if text and "<" not in text and label.fontMetrics().horizontalAdvance(text) > label.contentsRect().width() + 1:
            bad.append(f"{text!r} ({label.fontMetrics().horizontalAdvance(text)} px in "
                       f"{label.contentsRect().width()})")
    return bad


@pytest.mark.slow
def test_every_size_from_720p_to_4k_with_every_dock_open_clips_no_text(qapp, demo_window):  # noqa: F811
    """The window keeps the size it is given from 1280 × 720 to 3840 × 2160 with the network-input and Teach
    docks open; no label is cut without an ellipsis and a tooltip; the status bar's fields sit side by side,
    never under one another; the event view keeps a share of the window."""
    win, session = demo_window
    win.inputs.show()
    win.teach.show()
    spin(qapp, 30, until=lambda: win.last_snapshot is not None and win.last_snapshot.windows >= 2)
    for w, h in ((1280, 720), (1920, 1080), (3840, 2160)):
        win.resize(w, h)
        spin(qapp, 1.0)
        assert (win.width(), win.height()) == (w, h)
        assert clipped_labels(win) == [], (w, h)
        win.overload_text = lambda *_: "⚠ overload: 5 bins dropped"  # as while bins drop: three fields
        spin(qapp, 0.3)
        assert win.overload.isVisible()
        fields = [f.geometry() for f in (win.status, win.overload, win.counter)]
        assert all(a.right() < b.left() for a, b in zip(fields[:-1], fields[1:], strict=True)), (w, h)
        assert fields[-1].right() <= win.statusBar().width()
        view = win.dashboard.events
        assert view.width() * view.height() >= 0.08 * w * h, (w, h, view.size())


def test_the_timeline_counts_seconds_from_the_files_start(qapp):  # noqa: F811
    """A recording stamped in epoch time (an AEDAT4 camera's: 1.6e9 s) reads 0, 0.1, 0.2 … on the strip's axis, not
    1.6055374940 (×1e+09)."""
    from sast_live.gui.timeline import FileTimeAxis

    axis = FileTimeAxis("bottom")
    axis.origin_s = 1_605_537_493.718360
    levels = axis.tickValues(axis.origin_s, axis.origin_s + 0.59, 600)
    major = levels[0][1]
    shown = axis.tickStrings(major, 1.0, levels[0][0])
    assert shown[0] == "0" and float(shown[-1]) == pytest.approx(0.5, abs=0.11) and len(shown) >= 3
    assert all(abs(v - axis.origin_s - float(t)) < 1e-6 for v, t in zip(major, shown, strict=True))
    assert axis.autoSIPrefix is False


def test_the_rate_plots_label_at_most_three_ticks_in_k_m_g(qapp):  # noqa: F811
    """A rate up to 10⁷ in a 60-px plot: "0, 4M, 8M", not six stacked "1e+07"-style labels."""
    from sast_live.gui.views import CompactAxis, compact_number

    assert [compact_number(v) for v in (0, 950, 12_000, 1_500_000, 2e9)] == ["0", "950", "12k", "1.5M", "2G"]
    axis = CompactAxis("left")
    levels = axis.tickValues(0, 1.05e7, 60)
    assert len(levels) == 1 and 2 <= len(levels[0][1]) <= 3
    shown = axis.tickStrings(levels[0][1], 1.0, levels[0][0])
    assert shown[0] == "0" and all(t[-1] == "M" for t in shown[1:])
