#!/usr/bin/env python3
"""SAST-Live command line. Each package registers its own subcommands (``sast_live/commands.py``,
``training/commands.py``, ``firmware_sim/commands.py``); their handlers import numba, torch and Qt only when they
run, so ``--help`` stays instant. With no subcommand: the GUI on the bundled demo."""

from __future__ import annotations

import argparse
import importlib
import math
import signal
import sys

#: the packages whose ``commands.register(subparsers)`` adds subcommands, in the order ``--help`` lists them
COMMAND_MODULES = ("sast_live.commands", "training.commands", "firmware_sim.commands")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="SAST-Live: sharpness-aware surrogate training of "
                                     "spiking networks, from training to a live event sensor. With no command: the GUI "
                                     "on the bundled demo.")
    sub = parser.add_subparsers(title="subcommands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):  # no subcommand: the GUI on the demo (or its headless fallback)
        args = parser.parse_args(["gui"])
    for name, value in vars(args).items():  # `--gap nan`, `--seconds inf`: no option of ours means those
        if any(isinstance(v, float) and not math.isfinite(v) for v in (value if isinstance(value, list) else [value])):
            parser.error(f"--{name.replace('_', '-')} must be a finite number, not {value}")
    from sast_live.errors import SastLiveError

    # SIGTERM ends like Ctrl-C: threads stopped and joined, recordings written, the window under way reported.
    # SIGINT is set too: a shell without job control starts background commands with SIGINT ignored, and
    # Python then leaves it ignored — Ctrl-C (or `kill -INT`) would not stop a backgrounded run.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    try:
        return args.func(args)
    except SastLiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `… --json | head`: the reader left; not an error of ours
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path that cannot be read or written (permissions, a full disk, a file for a folder)
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2


def os_error_line(exc: OSError) -> str:
    """One line naming the path and the cause of a failed read or write."""
    where = " → ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    cause = exc.strerror or str(exc)
    return f"{where}: {cause}" if where else cause


if __name__ == "__main__":
    sys.exit(main())
