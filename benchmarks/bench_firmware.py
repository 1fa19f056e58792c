"""Streaming inference of the shipped gesture model at batch 1: integer simulator vs the same net in PyTorch.

    python benchmarks/bench_firmware.py [--repeat 3] [--model models/zoo/gestures-sast/model]

On the bundled demo recording (``sast_live/assets/demo_gestures.raw``, 128×128, 10.8 s), streamed chunk by
chunk as a live sensor would deliver it:

* ``numba INT8``: events → streamed binning (25 ms bins, pooled to 32×32) → the integer simulator, state
  carried across chunks;
* ``PyTorch float hard``: the same binned frames through the float network with hard spikes at batch 1,
  one thread (``torch.set_num_threads(1)``: the same single core the simulator uses);
* ``SynOps/s`` achieved by the simulator vs a dense integer multiply-add loop (numba, one core) over arrays
  of the same total size — the ceiling for a core that adds one weight per operation.

Prints events/s, the real-time factor (recording duration / wall time) and the ratios; nothing asserted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numba
import numpy as np
from timing import best_of

REPO = Path(__file__).resolve().parents[1]


@numba.njit(nogil=True, cache=True)
def dense_adds(weights, acc, repeats):  # pragma: no cover - compiled
    """``repeats`` passes of ``acc[j] += weights[j]``: one integer add per synapse, no index arithmetic."""
    for _ in range(repeats):
        for j in range(weights.shape[0]):
            acc[j] += weights[j]
    return acc[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default=str(REPO / "models" / "zoo" / "gestures-sast" / "model"))
    ap.add_argument("--chunk-events", type=int, default=4096, help="events per chunk read from the file")
    args = ap.parse_args()
    import torch

    from firmware_sim.quantize import QuantConfig, quantize_checkpoint
    from firmware_sim.simulator import Simulator
    from models.checkpoint import load_model
    from sast_live.formats.registry import open_events, read_events
    from sast_live.transforms.binning import bin_events, flush, initial_carry
    from training.frames import bin_config

    torch.set_num_threads(1)
    demo = REPO / "sast_live" / "assets" / "demo_gestures.raw"
    events = read_events(demo)
    duration_s = (int(events["t"][-1]) - int(events["t"][0])) * 1e-6
    fmodel, _ = load_model(args.model)
    fmodel.eval()
    bcfg = bin_config(fmodel.cfg)
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
    result = {}

    def run_numba():
        state, synops = sim.initial_state(), 0
        for frames in frame_chunks():
            state, out = sim.run(frames, state)
            synops += out.synops_total
        result["synops"] = synops

    def run_torch():
        x = torch.from_numpy(stream_frames().astype(np.float32))[:, None]  # (T, 1, 2, 32, 32)
        with torch.no_grad():
            fmodel(x, mode="hard")

    t_numba = best_of(run_numba, args.repeat)
    t_torch = best_of(run_torch, args.repeat)
    t_bin = best_of(stream_frames, args.repeat)
    n = len(events)
    print(f"demo recording: {n} events, {duration_s:.2f} s, {len(all_frames)} bins of {bcfg.bin_us} µs")
    print(f"{'pipeline (read + bin + network), batch 1':<44} {'events/s':>12} {'x real time':>12}")
    for name, t in (("numba INT8 simulator", t_numba), ("PyTorch float, hard spikes (1 thread)", t_torch),
                    ("read + bin only", t_bin)):
        print(f"{name:<44} {n / t:>12,.0f} {duration_s / t:>12,.1f}")
    print(f"simulator vs PyTorch: {t_torch / t_numba:.1f}x faster "
          f"(network alone: {(t_torch - t_bin) / max(t_numba - t_bin, 1e-9):.1f}x)")

    synops = result["synops"]
    achieved = synops / max(t_numba - t_bin, 1e-9)
    p = sim.packed
    weights = np.concatenate([p.weights, p.readout.ravel()]).astype(np.int64)
    acc = np.zeros_like(weights)
    reps = max(1, int(synops // len(weights)))
    t_dense = best_of(lambda: dense_adds(weights, acc, reps), args.repeat)
    dense_rate = reps * len(weights) / t_dense
    print(f"SynOps: {synops:,} in the recording; simulator {achieved:,.0f} SynOps/s (network time only), "
          f"dense integer add loop {dense_rate:,.0f} adds/s: {achieved / dense_rate:.2f} of the dense ceiling")


if __name__ == "__main__":
    main()
