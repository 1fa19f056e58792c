#!/usr/bin/env python3
"""SAST-Live command line. Each package registers its own subcommands (``sast_live/commands.py``,
``training/commands.py``, ``firmware_sim/commands.py``); their handlers import numba, torch and Qt only when they
run, so ``--help`` stays instant. With no subcommand: the GUI on the bundled demo."""

from __future__ import annotations

import argparse
import importlib
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


if __name__ == "__main__":
    sys.exit(main())
