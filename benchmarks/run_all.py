"""Run every benchmark (``make bench``): each ``benchmarks/bench_*.py`` with ``--json``, its output shown as it
runs; the figures go to ``benchmarks/results.json`` and to the README's performance table (between the
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers).

    python benchmarks/run_all.py [--only bench_io bench_firmware] [--no-readme]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results.json"
README = REPO / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def run(script: Path) -> dict:
    """Run one benchmark, echo its lines, return its JSON figures (the last line starting with '{')."""
    proc = subprocess.Popen([sys.executable, str(script), "--json"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    found = None
    for line in proc.stdout:
        if line.startswith("{"):
            found = json.loads(line)
        else:
            print(line, end="", flush=True)
    if proc.wait() != 0 or found is None:
        raise SystemExit(f"{script.name} failed (exit {proc.returncode})")
    return found


def _number(x: float) -> str:
    if x == 0 or 0.01 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.3g}".replace("e+0", "e").replace("e+", "e")


def table(results: dict) -> str:
    """The README's performance table, from ``results.json``'s content."""
    lines = [f"Measured by `make bench` on {results['date']} ({results['machine']}); ratio = times better than the "
             "peer (its time over ours, or our rate over its).", "",
             "| figure | ours | peer | ratio | target |", "|---|---|---|---|---|"]
    for bench in results["benches"]:
        for f in bench["figures"]:
            target = "" if f["target"] is None else f"≥ {f['target']:.3g}× " + ("✓" if f["met"] else "✗ missed")
            note = f" ({f['note']})" if f["note"] else ""
            lines.append(f"| {f['name']}{note} | {_number(f['value'])} {f['unit']} | {f['peer']}: "
                         f"{_number(f['peer_value'])} | {f['ratio']:.2f}× | {target} |")
    return "\n".join(lines)


def write_readme(results: dict) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} … {END} section to write the table into")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. bench_io); the others keep "
                                                                "their figures from the last results.json")
    ap.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    args = ap.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    previous = json.loads(RESULTS.read_text())["benches"] if RESULTS.exists() and args.only else []
    benches = {b["bench"]: b for b in previous}
    for script in scripts:
        if args.only and script.stem not in args.only:
            continue
        print(f"== {script.name}", flush=True)
        benches[script.stem] = run(script)
    machine = f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, Python " \
              f"{platform.python_version()}"
    results = {"date": datetime.date.today().isoformat(), "machine": machine,
               "benches": [benches[s.stem] for s in scripts if s.stem in benches]}
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS.relative_to(REPO)}")
    if not args.no_readme:
        write_readme(results)
        print("wrote the performance table in README.md")


if __name__ == "__main__":
    main()
