"""Reader and binning throughput, as ratios against named peers measured in the same run.

    python benchmarks/bench_io.py [--repeat 5] [--json]

* EVT3: our numba codec vs expelliarmus' EVT3 decoder (whose timestamps are wrong, see the tests) on the
  real Prophesee samples.
* EVT2: our reader (our one-pass numba decoder with its checks) vs bare expelliarmus.
* Binning: ``bin_window`` vs tonic's ``ToFrame(time_window=…)`` on the same events (N-MNIST 34×34 and the
  128×128 demo gesture recording pooled to 32×32 vs tonic ``Downsample`` + ``ToFrame``).
Prints events/s of each and the ratio; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from report import emit, rate
from timing import best_of

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("SAST_SHARED_DATA") or REPO.parent / "shared" / "data" / "real")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    from expelliarmus import Wizard

    from sast_live.events import to_tonic
    from sast_live.formats.registry import open_events, read_events
    from sast_live.transforms.binning import bin_window
    from sast_live.transforms.config import BinConfig

    figures = []
    targets = {"evt3": 1.2, "evt2": 0.9}
    for name, enc in [("expelliarmus/evt3_sample.raw", "evt3"), ("expelliarmus/sparklers.raw", "evt2"),
                      ("expelliarmus/evt2_sample.raw", "evt2")]:
        path = REAL / name
        n = len(read_events(path))
        ours = best_of(lambda p=path: open_events(p, chunk_events=1 << 18).read(), args.repeat)
        theirs = best_of(lambda p=path, e=enc: Wizard(encoding=e).read(str(p)), args.repeat)
        figures.append(rate(f"read {name} ({enc.upper()}, {n} ev)", n / ours, "expelliarmus", n / theirs, "events/s",
                            target=targets[enc], note="EVT3: expelliarmus' times are wrong" if enc == "evt3" else ""))

    ev = read_events(REAL / "tonic" / "sample_nmnist.bin")
    cfg = BinConfig((34, 34), 1000)
    import tonic.transforms as T

    te = to_tonic(ev)
    ours = best_of(lambda: bin_window(ev, cfg, 0, 320), args.repeat)
    theirs = best_of(lambda: T.ToFrame(sensor_size=(34, 34, 2), time_window=1000, start_time=0,
                                        end_time=320_000)(te), args.repeat)
    figures.append(rate(f"bin N-MNIST 1 ms ({len(ev)} ev)", len(ev) / ours, "tonic ToFrame", len(ev) / theirs,
                        "events/s"))

    demo = read_events(REPO / "sast_live" / "assets" / "demo_gestures.raw")
    cfg = BinConfig((128, 128), 10_000, (32, 32))
    te = to_tonic(demo)
    n_bins = int(demo["t"][-1]) // 10_000 + 1
    ours = best_of(lambda: bin_window(demo, cfg, 0, n_bins), args.repeat)

    def tonic_pool():
        small = T.Downsample(spatial_factor=0.25)(te.copy())
        return T.ToFrame(sensor_size=(32, 32, 2), time_window=10_000, start_time=0, end_time=n_bins * 10_000)(small)

    theirs = best_of(tonic_pool, args.repeat)
    figures.append(rate(f"bin demo 128→32, 10 ms ({len(demo)} ev)", len(demo) / ours, "tonic Downsample+ToFrame",
                        len(demo) / theirs, "events/s"))
    emit("bench_io", figures, args.json)


if __name__ == "__main__":
    main()
