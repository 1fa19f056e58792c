"""``docs/gestures.png`` and the statistics table of the second synthetic gesture generation.

    python main.py data gallery [--out docs/gestures.png] [--per-class 3]

For each lighting, one row of intensity frames (what a camera would see) and one of event frames (40 ms of ON in
yellow and OFF in blue, what the DVS sends), one column per class, each performed by a held-out test subject.
Then ``--per-class`` recordings per class and lighting give the table the README quotes: event rate, the share of
pixels active in a 25 ms bin, and events per 1-s window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from sast_live.synthetic import people

REPO = Path(__file__).resolve().parents[2]


def event_image(events: np.ndarray, t0: int, t1: int) -> np.ndarray:
    """(128, 128, 3) RGB of the events in [t0, t1): ON yellow, OFF blue, on dark grey."""
    sel = events[(events["t"] >= t0) & (events["t"] < t1)]
    on = np.zeros((128, 128))
    off = np.zeros((128, 128))
    np.add.at(on, (sel["y"][sel["p"] == 1], sel["x"][sel["p"] == 1]), 1)
    np.add.at(off, (sel["y"][sel["p"] == 0], sel["x"][sel["p"] == 0]), 1)
    img = np.full((128, 128, 3), 0.09)
    net = np.clip((on - off) / 3.0, -1, 1)[..., None]
    img = np.where(net > 0, (1 - net) * img + net * np.array([1.0, 0.82, 0.16]), img)
    img = np.where(net < 0, (1 + net) * img - net * np.array([0.16, 0.47, 1.0]), img)
    return img


def gallery(out: Path, seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(people.CLASSES)
    fig, axes = plt.subplots(2 * len(people.LIGHTINGS), n, figsize=(n * 1.3, 2 * len(people.LIGHTINGS) * 1.42))
    for r, lighting in enumerate(people.LIGHTINGS):
        for c, name in enumerate(tqdm(people.CLASSES, desc=f"gallery, {lighting}")):
            person = people.subject(people.TEST_SUBJECTS[c % len(people.TEST_SUBJECTS)], seed)
            s = 10_000 * seed + 100 * r + c
            p = people.sample_params(c, person, lighting, np.random.default_rng(s))
            frame = people.render_frames(person, p, np.array([0.8]))[0]
            ev = people.make_sample(c, s, person, lighting, duration_s=1.0)
            axes[2 * r, c].imshow(frame, cmap="gray", vmin=0, vmax=1.2)
            axes[2 * r + 1, c].imshow(event_image(ev, 760_000, 800_000))
            if r == 0:
                axes[0, c].set_title(name.replace("_", " ").replace("counter clockwise", "ccw"), fontsize=7)
        axes[2 * r, 0].set_ylabel(f"{lighting}\nintensity", fontsize=8)
        axes[2 * r + 1, 0].set_ylabel("events\n(40 ms)", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("Synthetic DVS gestures, second generation: test subjects, one per class (and no gesture), "
                 "three lightings", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def statistics(per_class: int, seed: int = 0) -> str:
    """A markdown table: per lighting, event rate (median and 10–90 %), share of the 16,384 pixels active in a
    25 ms bin (median), events per 1-s window (median)."""
    rows = ["| lighting | recordings | events/s, median (10–90 %) | pixels active per 25 ms bin | events per 1-s "
            "window |", "|---|---|---|---|---|"]
    for lighting in people.LIGHTINGS:
        rates, active, per_window = [], [], []
        jobs = [(c, k) for c in range(people.IDLE) for k in range(per_class)]  # the 11 gestures
        for c, k in tqdm(jobs, desc=f"statistics, {lighting}"):
            person = people.subject(people.TEST_SUBJECTS[(c + k) % len(people.TEST_SUBJECTS)], seed)
            ev = people.make_sample(c, 20_000 * seed + 1_000 * k + c, person, lighting)
            seconds = max(int(ev["t"][-1]), 1) * 1e-6
            rates.append(len(ev) / seconds)
            bins = ev["t"] // 25_000
            for b in np.unique(bins)[::8]:
                sel = ev[bins == b]
                active.append(len(np.unique(sel["y"].astype(np.int64) * 128 + sel["x"])) / 16_384)
            per_window += list(np.bincount(ev["t"] // 1_000_000))
        rows.append(f"| {lighting} | {len(rates)} | {np.median(rates):,.0f} ({np.percentile(rates, 10):,.0f}–"
                    f"{np.percentile(rates, 90):,.0f}) | {np.median(active):.1%} | {np.median(per_window):,.0f} |")
    return "\n".join(rows)
