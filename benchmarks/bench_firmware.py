"""The integer simulator's speed against its peers, on the shipped gesture model and the demo recording.

    python benchmarks/bench_firmware.py [--repeat 5] [--model models/zoo/gestures-sast/model] [--json]

On the bundled demo recording (``sast_live/assets/demo_gestures.raw``, 128×128, 20.5 s, 25-ms bins pooled to
32×32):

* **stream, batch 1, one core**: the INT8 pipeline (read → streamed binning → the numba simulator, state carried
  across 4,096-event chunks, as a live sensor delivers them) vs the same read and binning followed by the same
  network in PyTorch (float, hard spikes, batch 1, ``torch.set_num_threads(1)``); also the network alone
  (binning time subtracted from both);
* **SynOps/s** of the simulator vs a dense loop of integer adds (``acc[j] += w[j]`` in the simulator's weight
  dtype, numba, one core): the ceiling for a core that adds one weight per synaptic operation;
* **the exported C** (``export --c``, ``gcc -O3 -march=native``) on the same frames, same core: the numba
  simulator's time over the C's;
* **many windows**: 1-s windows cut from the stream (hop 3 bins), each from a fresh state, as ``evaluate
  --hardware`` and the convex dictionary run them — the simulator on every core (``prange`` over samples) vs
  PyTorch on every core at its best batch size.

Prints the figures (and with ``--json`` one JSON line for ``run_all.py``); nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numba
import numpy as np
from report import cost, emit, rate
from timing import best_of

REPO = Path(__file__).resolve().parents[1]

_C_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sast_model.h"
/* bench FRAMES.bin T REPEAT: every pass runs all T frames from a reset state; prints the best pass in seconds */
int main(int argc, char **argv)
{
    static sast_state st;
    sast_stats stats;
    size_t frame_bytes = SAST_IN_C * SAST_IN_H * SAST_IN_W;
    long t, steps = strtol(argv[2], NULL, 10), r, repeat = strtol(argv[3], NULL, 10);
    unsigned long long synops = 0;
    double best = 1e30;
    uint8_t *frames = malloc(frame_bytes * steps);
    FILE *fp = fopen(argv[1], "rb");
    if (argc != 4 || !fp || !frames || fread(frames, frame_bytes, steps, fp) != (size_t)steps) return 2;
    fclose(fp);
    for (r = 0; r < repeat; r++) {
        struct timespec a, b;
        int l;
        clock_gettime(CLOCK_MONOTONIC, &a);
        sast_reset(&st);
        synops = 0;
        for (t = 0; t < steps; t++) {
            sast_step(&st, frames + t * frame_bytes, &stats);
            for (l = 0; l <= SAST_N_LAYERS; l++) synops += stats.synops[l];
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        if ((b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec) < best)
            best = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
    }
    printf("%.9f %llu %ld\n", best, synops, (long)st.acc[0]);
    return 0;
}
"""


@numba.njit(nogil=True, cache=True)
def dense_adds(weights, acc, repeats):  # pragma: no cover - compiled
    """``repeats`` passes of ``acc[j] += weights[j]``: one integer add per synapse, no index arithmetic."""
    for _ in range(repeats):
        for j in range(weights.shape[0]):
            acc[j] += weights[j]
    return acc[0]


def time_c(sim, frames: np.ndarray, repeat: int) -> tuple[float, int, int] | None:
    """Best seconds of the exported C over ``frames``, its SynOps and its first score (None without gcc)."""
    from firmware_sim.c_export import write_c

    if shutil.which("gcc") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_c(sim.model, tmp)
        (tmp / "bench.c").write_text(_C_DRIVER)
        exe = tmp / "bench"
        subprocess.run(["gcc", "-std=c99", "-D_POSIX_C_SOURCE=199309L", "-O3", "-march=native", "-o", str(exe),
                        str(tmp / "sast_model.c"), str(tmp / "bench.c")], check=True)
        (tmp / "frames.bin").write_bytes(np.ascontiguousarray(frames).tobytes())
        out = subprocess.run([str(exe), str(tmp / "frames.bin"), str(len(frames)), str(repeat)], check=True,
                             capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def profile_layers(sim, frames: np.ndarray, repeat: int) -> list[tuple[str, float, float]]:
    """Where the simulator's time goes: ``(part, ms, dense-update ms)`` for the input scan, each layer and the
    readout, from runs of the network cut after each layer (a zero readout of the right size), on the frames and
    on silent frames of the same shape (which cost only the scan and the dense membrane updates)."""
    from firmware_sim.kernels import run_steps
    from firmware_sim.packing import G_COUT, G_HOUT, G_WOUT, scratch

    p = sim.packed
    L = len(p.geom)
    silent = np.zeros_like(frames)

    def cut(k):
        n_rows = int(np.prod(sim.model.in_shape)) if k == 0 else int(np.prod(p.geom[k - 1, [G_COUT, G_HOUT,
                                                                                             G_WOUT]]))
        return p._replace(geom=p.geom[:k], readout=np.zeros((n_rows, 0), np.int64),
                          readout_bias=np.zeros(0, np.int64))  # no classes: the cut costs no readout

    work = scratch(p, sim.model.in_shape)

    def timed(net, x, k):
        n_cls = net.readout.shape[1]

        def go():
            st = sim.initial_state()
            run_steps(x, net, st.v.copy(), st.s.copy(), st.acc[:n_cls].copy(),
                      np.zeros(int(p.geom[:, G_COUT].max()), np.int64),
                      np.zeros(int((p.geom[:, G_HOUT] * p.geom[:, G_WOUT]).max()), np.int64),
                      np.zeros((len(x), k), np.int64),
                      np.zeros((len(x), k + 1), np.int64), np.zeros(k + 1, np.int64),
                      work._replace(ro_sum=st.acc[:n_cls].copy()))
        return best_of(go, repeat) * 1e3

    full = [timed(cut(k), frames, k) for k in range(L + 1)] + [timed(p, frames, L)]
    quiet = [timed(cut(k), silent, k) for k in range(L + 1)]
    rows = [("input scan", full[0], 0.0)]
    for k in range(1, L + 1):
        rows.append((f"layer {k}", full[k] - full[k - 1], quiet[k] - quiet[k - 1]))
    rows.append(("readout", full[L + 1] - full[L], 0.0))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model", default=str(REPO / "models" / "zoo" / "gestures-sast" / "model"))
    ap.add_argument("--chunk-events", type=int, default=4096, help="events per chunk read from the file")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    import torch

    from firmware_sim.quantize import QuantConfig, quantize_checkpoint
    from firmware_sim.simulator import Simulator
    from models.checkpoint.weights import load_model
    from sast_live.formats.registry import open_events, read_events
    from sast_live.transforms.binning import bin_events, flush, initial_carry

    cores = numba.config.NUMBA_NUM_THREADS
    demo = REPO / "sast_live" / "assets" / "demo_gestures.raw"
    events = read_events(demo)
    duration_s = (int(events["t"][-1]) - int(events["t"][0])) * 1e-6
    fmodel, _ = load_model(args.model)
    fmodel.eval()
    bcfg = fmodel.cfg.bin_config()
    sim = Simulator(quantize_checkpoint(args.model, QuantConfig(8)))

    def frame_chunks():
        """The stream's binned frames chunk by chunk, as a live source delivers them (the last bin flushed)."""
        carry = initial_carry(bcfg, 0)
        for chunk in open_events(demo, chunk_events=args.chunk_events).chunks():
            frames, carry = bin_events(chunk, carry, bcfg)
            if len(frames):
                yield frames
        yield flush(carry, bcfg)

    def stream_frames():
        return np.concatenate(list(frame_chunks()))

    all_frames = stream_frames()
    n = len(events)
    figures = []
    print(f"demo recording: {n} events, {duration_s:.2f} s, {len(all_frames)} bins of {bcfg.bin_us} µs; "
          f"{cores} cores")

    # --- stream, batch 1, one core
    torch.set_num_threads(1)
    synops = []

    def run_numba():
        state, total = sim.initial_state(), 0
        for frames in frame_chunks():
            state, out = sim.run(frames, state)
            total += out.synops_total
        synops[:] = [total]

    def run_torch():
        x = torch.from_numpy(stream_frames().astype(np.float32))[:, None]  # (T, 1, 2, 32, 32)
        with torch.no_grad():
            fmodel(x, mode="hard")

    t_numba = best_of(run_numba, args.repeat)
    t_torch = best_of(run_torch, args.repeat)
    t_bin = best_of(stream_frames, args.repeat)
    figures.append(rate("stream: read + bin + INT8 network, batch 1, 1 core", n / t_numba,
                        "read + bin + PyTorch float hard spikes, batch 1, 1 thread", n / t_torch, "events/s",
                        target=20, note=f"{duration_s / t_numba:,.0f}× real time"))
    figures.append(cost("stream: the network alone (binning subtracted)", t_numba - t_bin,
                        "PyTorch network alone", t_torch - t_bin, "s", note=f"read + bin {t_bin * 1e3:.1f} ms"))

    # --- SynOps/s vs a dense add loop
    net_alone = best_of(lambda: sim.run(all_frames, sim.initial_state()), args.repeat)
    total_synops = synops[0]
    p = sim.packed
    # the ceiling in the simulator's own weight dtype (int32 here), and in int64 (the peer of the 0.12)
    for dtype in dict.fromkeys((p.weights.dtype, np.dtype(np.int64))):
        weights = np.concatenate([p.weights, p.readout.ravel()]).astype(dtype)
        acc = np.zeros_like(weights)
        reps = max(1, int(total_synops // len(weights)))
        t_dense = best_of(lambda w=weights, a=acc, r=reps: dense_adds(w, a, r), args.repeat)
        figures.append(rate("SynOps/s of the simulator (all frames in one call)", total_synops / net_alone,
                            f"dense {dtype} add loop, 1 core", reps * len(weights) / t_dense, "adds/s",
                            target=0.3, note=f"{total_synops:,} SynOps"))

    print(f"{'where the simulator spends its time':<36} {'ms':>7} {'of which dense updates':>24}")
    for part, ms, dense in profile_layers(sim, all_frames, args.repeat):
        print(f"{part:<36} {ms:>7.2f} {dense:>24.2f}")

    # --- the exported C on the same frames
    c = time_c(sim, all_frames, max(args.repeat, 5))
    if c is not None:
        t_c, c_synops, _ = c
        if c_synops != total_synops:
            raise SystemExit(f"the C counted {c_synops} SynOps, the simulator {total_synops}: not the same network")
        figures.append(cost("the numba simulator vs the exported C, same frames, 1 core", net_alone,
                            "C, gcc -O3 -march=native", t_c, "s", target=1 / 1.5,
                            note="target: numba within 1.5× the C's time"))

    # --- many windows on every core
    T = fmodel.cfg.n_bins
    windows = np.stack([all_frames[a:a + T] for a in range(0, len(all_frames) - T + 1, 3)])
    numba.set_num_threads(1)
    t_one = best_of(lambda: sim.classify(windows), args.repeat)
    numba.set_num_threads(cores)
    t_all = best_of(lambda: sim.classify(windows), args.repeat)
    torch.set_num_threads(cores)
    best_torch, best_batch = float("inf"), 0
    xs = torch.from_numpy(windows.astype(np.float32)).transpose(0, 1)  # (T, N, 2, H, W)
    for batch in (1, 16, 64, 256):
        def run_batches(b=batch):
            with torch.no_grad():
                for a in range(0, xs.shape[1], b):
                    fmodel(xs[:, a:a + b], mode="hard")
        t = best_of(run_batches, max(1, args.repeat // 2))
        if t < best_torch:
            best_torch, best_batch = t, batch
    figures.append(rate(f"windows: INT8 simulator, {cores} cores (prange over samples)", len(windows) / t_all,
                        f"PyTorch float hard, {cores} threads, best batch ({best_batch})", len(windows) / best_torch,
                        "windows/s", note=f"{len(windows)} windows of {T} bins; 1 core: "
                        f"{len(windows) / t_one:,.0f}/s ({t_one / t_all:.2f}× from {cores} cores)"))
    emit("bench_firmware", figures, args.json)


if __name__ == "__main__":
    main()
