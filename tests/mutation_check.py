"""Plant each bug the suite must catch (issue 13's list), run the tests that guard against it, expect a failure.

    .venv/bin/python tests/mutation_check.py            # every mutation; prints caught / MISSED per mutation
    .venv/bin/python tests/mutation_check.py labels     # only those whose description holds "labels"

Not part of ``make test`` (it rewrites source files, one at a time, and restores each): run it after changing
the guarded code or its tests. Exit code 1 when a mutation survives.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (what, file, text, replacement, tests that must fail)
MUTATIONS = [
    ("labels reader: a zero-length interval accepted", "sast_live/formats/dvs_gesture.py",
     "        if end <= start:\n", "        if end < start:\n", "tests/test_formats_roundtrip.py"),
    ("labels reader: intervals overlapping by 1 µs accepted", "sast_live/formats/dvs_gesture.py",
     "if rows[j][1] < rows[i][2]:", "if rows[j][1] < rows[i][2] - 1:", "tests/test_formats_roundtrip.py"),
    ("labels reader: touching intervals refused as overlapping", "sast_live/formats/dvs_gesture.py",
     "if rows[j][1] < rows[i][2]:", "if rows[j][1] <= rows[i][2]:", "tests/test_formats_roundtrip.py"),
    ("labels reader: a header accepted after the first line", "sast_live/formats/dvs_gesture.py",
     "if not rows and line_no == 1 and", "if not rows and", "tests/test_formats_roundtrip.py"),
    ("labels reader: a byte-order mark kept as text", "sast_live/formats/dvs_gesture.py",
     'text = data.decode("utf-8-sig")', 'text = data.decode("utf-8")', "tests/test_formats_roundtrip.py"),
    ("labels reader: signs and decimals taken as numbers", "sast_live/formats/dvs_gesture.py",
     "f.isascii() and f.isdigit() and len(f) <= 18", "len(f) <= 18 and f.lstrip('+').replace('.', '', 1).isdigit()",
     "tests/test_formats_roundtrip.py"),
    ("take writer: the take's label ends at its last event, not after it", "sast_live/takes.py",
     'gesture_labels_text([(label, 0, int(ev["t"][-1]) + 1)])', 'gesture_labels_text([(label, 0, int(ev["t"][-1]))])',
     "tests/test_teach.py"),
    ("take writer: a take's clock not started at 0", "sast_live/takes.py",
     '        ev["t"] -= int(ev["t"][0])\n', "", "tests/test_teach.py"),
    ("take writer: a take counted before it is stored", "sast_live/takes.py",
     "            tmp.replace(path)\n            self._write_meta()\n",
     "            self._write_meta()\n            tmp.replace(path)\n", "tests/test_teach.py"),
    ("EVT3 wrap threshold 4085 → 2048", "sast_live/formats/evt3_codec.py",
     "if high - payload >= 4085:", "if high - payload >= 2048:", "tests/test_evt3_codec.py"),
    ("EVT3 TIME_LOW before any TIME_HIGH taken as a time", "sast_live/formats/evt3_codec.py",
     "        elif kind == 0x6:  # TIME_LOW\n            low = payload\n",
     "        elif kind == 0x6:  # TIME_LOW\n            low = payload\n            have_time = 1\n",
     "tests/test_evt3_codec.py"),
    ("LIF reset detached from the graph", "models/neurons.py",
     "u = p.tau * state.u * (1 - state.s) + i_in", "u = p.tau * state.u * (1 - state.s.detach()) + i_in",
     "tests/test_models_sam.py"),
    ("LIF input gated by the reset too", "models/neurons.py",
     "u = p.tau * state.u * (1 - state.s) + i_in", "u = (p.tau * state.u + i_in) * (1 - state.s)",
     "tests/test_models_sam.py"),
    ("floor instead of the rounded leak in the numba kernel", "firmware_sim/kernels.py",
     "r = (a * leak_param) >> leak_shift  # |x|·m >> shift",
     "r = (((x * leak_param) >> leak_shift) ^ sign) - sign  # floor(x·m >> shift), as a magnitude",
     "tests/test_firmware_sim.py"),
    ("SAM norm per parameter instead of global", "training/sam.py",
     'e_w = (torch.pow(p, 2) if g["adaptive"] else 1.0) * p.grad * scale.to(p)',
     'e_w = (torch.pow(p, 2) if g["adaptive"] else 1.0) * p.grad * (g["rho"] / (p.grad.norm() + 1e-12))',
     "tests/test_models_sam.py"),
    ("eDVS look-ahead removed from both twins", "sast_live/wire/edvs.py",
     "LOOKAHEAD = 8  #", "LOOKAHEAD = 1  #", "tests/test_wire.py"),
    ("every skipped eDVS byte counted as a resync (kernel)", "sast_live/wire/edvs.py",
     "            if not skipping:\n                resyncs += 1\n                skipping = True\n",
     "            resyncs += 1\n            skipping = True\n", "tests/test_wire.py"),
    ("every skipped eDVS byte counted as a resync (reference twin)", "sast_live/wire/edvs.py",
     "resyncs += 0 if skipping else 1", "resyncs += 1", "tests/test_wire.py"),
    ("eDVS wrap margin set to zero", "sast_live/wire/edvs.py",
     "GAP_MARGIN_US = WRAP_US // 2", "GAP_MARGIN_US = 0", "tests/test_wire.py"),
]


def main() -> int:
    missed = []
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    for what, rel, text, replacement, tests in (m for m in MUTATIONS if only in m[0]):
        path = REPO / rel
        original = path.read_text()
        if original.count(text) != 1:
            print(f"?       {what}: the text to mutate is not in {rel} exactly once; update this list")
            missed.append(what)
            continue
        path.write_text(original.replace(text, replacement))
        try:
            done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", tests],
                                  cwd=REPO, capture_output=True, text=True, timeout=900)
        finally:
            path.write_text(original)
        caught = done.returncode != 0
        print(f"{'caught' if caught else 'MISSED'}  {what}  ({tests})")
        if not caught:
            missed.append(what)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
