"""The live app: GUI frames per second and event-to-display latency; serial ingest over a pseudo-terminal.

    python benchmarks/bench_live.py [--frames 150] [--only gui|serial|filters] [--json]

* GUI (offscreen Qt, the real window and timer): replaying the demo at 1× (also with every panel open: the
  network-input view and the teach panel docked) and at the fastest speed (``max``:
  as fast as the pipeline takes it). Frames per second are compared with the 30 Hz refresh target; latency
  is the time from a chunk's arrival to the frame that shows it (p50/p95), compared with one 25 ms bin.
* Serial ingest: the emulated camera board writes eDVS records over a pseudo-terminal at the eDVS line rate
  (12 Mbaud, 8N1 → 300,000 events/s) for 3 s; the source must keep up with zero loss. Then unpaced, its rate
  is compared with a bare pyserial read loop that only counts the bytes (the named peer: no decoding).
* Noise filters (``--denoise``, ``--refractory-us``): the pipeline (SAST INT8) over the demo and over the demo
  with hot pixels and background noise added (severity 3), in 5 ms chunks as the file source hands them out,
  with the filters on vs off (the peer): time ratio, events removed, SynOps saved.

Prints measured figures and ratios; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from report import cost, emit, rate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FIGURES = []  # every part adds its figures here (report.Figure)


def gui_run(speed: str, frames: int, panels: str = "default") -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "gui", "--speed", speed, "--frames", str(frames),
                           "--panels", panels],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"gui run failed: {done.stderr[-2000:]}")
    return lines[-1]


def line_rate_events(seconds: float, rate: float = 300_000) -> np.ndarray:
    from sast_live.events import make_events

    n = int(seconds * rate)
    rng = np.random.default_rng(0)
    t = (np.arange(n) * (1e6 / rate)).astype(np.int64)
    return make_events(t, rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n))


def ingest(events: np.ndarray, speed: float, bare: bool = False) -> tuple[float, int, dict]:
    """(events or bytes per second received, count, stats) through a pty from the emulated board."""
    import serial

    from firmware_sim.camera_board import CameraBoard, PtyLink
    from sast_live.sources.serial_source import SerialSource

    link = PtyLink.open()
    board = CameraBoard(events, "edvs", speed=speed)
    stop = threading.Event()
    threading.Thread(target=board.serve, args=(link, stop), daemon=True).start()
    want = len(events) * 4
    if bare:
        ser = serial.serial_for_url(link.path, baudrate=12_000_000, rtscts=True, timeout=0.02)
        ser.write(b"E+\n")
        got, t0 = 0, None
        while got < want:
            data = ser.read(max(1, ser.in_waiting))
            t0 = t0 or time.perf_counter()
            got += len(data)
        dt = time.perf_counter() - t0
        ser.close()
        stop.set()
        link.close()
        return got / 4 / dt, got // 4, {}
    src = SerialSource(link.path, "edvs", reconnect_s=0.2)
    n, t0 = 0, None
    with src:
        for chunk in src:
            if len(chunk) and t0 is None:
                t0 = time.perf_counter()
            n += len(chunk)
            if n >= len(events):
                break
    dt = time.perf_counter() - t0
    stop.set()
    link.close()
    return n / dt, n, src.stats.as_dict()


def pipeline_seconds(backend, chunks, **filters) -> tuple[float, object]:
    from timing import best_of

    from sast_live.events import SensorSize
    from sast_live.pipeline import Pipeline
    from sast_live.pipeline.options import PipelineOptions

    def run():
        pipe = Pipeline(backend, SensorSize(128, 128), PipelineOptions(hop_ms=0, **filters))
        for t1, chunk in chunks:
            pipe.process(chunk, t1)
        pipe.finish()
        run.snap = pipe.snapshot()

    return best_of(run, 3), run.snap


def filter_cost() -> None:
    from sast_live.events import iter_time_windows
    from sast_live.formats.registry import read_events
    from sast_live.pipeline import load_backend
    from sast_live.sources import DEMO
    from sast_live.transforms.corruptions import corrupt

    backend = load_backend(None)
    demo = read_events(DEMO)
    noisy = corrupt(corrupt(demo, "hot_pixels", 3, (128, 128), 1), "background_noise", 3, (128, 128), 2)
    print("noise filters (refractory 1000 µs + denoise 10000 µs) in the pipeline, SAST INT8, 5 ms chunks:")
    for name, events in (("demo", demo), ("demo + hot pixels + noise (severity 3)", noisy)):
        chunks = [(t1, ev) for _, t1, ev in iter_time_windows([events], 5_000)]
        off, s_off = pipeline_seconds(backend, chunks)
        on, s_on = pipeline_seconds(backend, chunks, denoise_us=10_000, refractory_us=1_000)
        print(f"  {name}: {len(events):,} events; filters on {on:.3f} s vs off {off:.3f} s: {on / off:.2f}× the "
              f"time; removed {s_on.events_filtered / len(events):.1%} of the events, SynOps "
              f"{s_on.synops_total:,} vs {s_off.synops_total:,} ({1 - s_on.synops_total / s_off.synops_total:.1%} "
              "saved)")
        FIGURES.append(cost(f"pipeline with the noise filters, {name}", on, "the pipeline without them", off, "s",
                            note=f"{1 - s_on.synops_total / s_off.synops_total:.0%} of the SynOps saved"))


def gui_figures(frames: int) -> None:
    print("GUI (offscreen Qt, demo recording, SAST INT8):")
    for speed, label, panels in (("1", "1×", "default"), ("1", "1×", "all"), ("10", "10×", "all"),
                                 ("0", "max", "default"), ("0", "max", "all")):
        s = gui_run(speed, frames, panels)
        label += ", every panel open" if panels == "all" else ""
        print(f"  {label:>4}: {s['fps']:5.1f} fps ({s['fps'] / 30:.2f}× the 30 Hz target), event-to-display latency "
              f"p50 {s['latency_ms_p50']:.0f} ms / p95 {s['latency_ms_p95']:.0f} ms "
              f"({s['latency_ms_p50'] / 25:.1f}× / {s['latency_ms_p95'] / 25:.1f}× one 25 ms bin), "
              f"{s['frames']} frames")
        FIGURES.append(rate(f"GUI frame rate, replay at {label}", s["fps"], "the 30 fps target", 30.0, "fps", target=1,
                            note=f"latency p50 {s['latency_ms_p50']:.0f} ms"))
        if speed == "1":
            FIGURES.append(cost(f"GUI event-to-display latency p95, {label}", s["latency_ms_p95"], "30 ms target", 30.0,
                                "ms", target=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--only", choices=["gui", "serial", "filters"], help="run one part")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    if args.only in (None, "gui"):
        gui_figures(args.frames)
    if args.only in (None, "serial"):
        serial_ingest()
    if args.only in (None, "filters"):
        filter_cost()
    emit("bench_live", FIGURES, args.json)


def serial_ingest() -> None:
    ev = line_rate_events(3.0)
    rate_, n, stats_line = ingest(ev, 1.0)
    print(f"serial ingest at the eDVS line rate (300,000 ev/s, 3 s): {rate_:,.0f} ev/s received, {n:,} of "
          f"{len(ev):,} events, losses {stats_line['losses']}, resyncs {stats_line['resyncs']}")
    fast = line_rate_events(6.0)
    ours, _, stats = ingest(fast, 1000.0)
    peer, _, _ = ingest(fast, 1000.0, bare=True)
    print(f"serial ingest unpaced: SerialSource {ours:,.0f} ev/s (losses {stats['losses']}) vs bare pyserial "
          f"read loop {peer:,.0f} records/s: ratio {ours / peer:.2f}; {ours / 300_000:.1f}× the eDVS line rate")
    FIGURES.append(rate("serial ingest at the eDVS line rate", rate_, "300,000 ev/s sent", 300_000.0, "events/s",
                        target=0.99, note=f"losses {stats_line['losses']}"))
    FIGURES.append(rate("serial ingest unpaced: SerialSource", ours, "bare pyserial read loop", peer, "events/s",
                        note=f"{ours / 300_000:.1f}× the eDVS line rate"))


if __name__ == "__main__":
    main()
