"""The application's subcommands: ``gui``, ``replay``, ``live``, ``record``, ``info``, ``convert``.

:func:`register` adds them to ``main.py``'s parser. Each handler turns its options into a
:class:`~sast_live.session.SourceOptions` / :class:`~sast_live.session.PipelineOptions` pair (one function each,
shared by every mode) and calls library code; everything heavy is imported inside the handlers, so ``--help``
loads neither numba, torch nor Qt.
"""

from __future__ import annotations

import argparse
import json
import math

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP
from firmware_sim.precisions import DEPLOYED, PRECISIONS
from models.decision import TAPERS
from sast_live.pipeline.options import DEFAULT_DENOISE_US, DEFAULT_HOP_MS
from sast_live.transforms.fit import FITS

SOURCES_HELP = ("file, serial:PORT, edvs:PORT, framed:PORT, dv: (USB camera), synthetic:gestures, synthetic:people, "
                "synthetic:people:MOTION (a class name, push_both_hands, raise_both_arms or punch_right)")


def sensor_size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sensor size must look like 640x480, got {text!r}") from exc
    return (w, h)


def number_arg(kind: type, low: float, above: bool = False):
    """An argparse type: a finite ``kind`` (int or float) ≥ ``low`` (> ``low`` with ``above``), else the parser's
    one-line error naming the rule."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") \
                from None
        if not math.isfinite(value) or (value <= low if above else value < low):
            raise argparse.ArgumentTypeError(f"must be {'above' if above else 'at least'} {low:g}, not {text}")
        return value

    parse.__name__ = kind.__name__  # what argparse names in "invalid int value"
    return parse


# -- options shared by every mode that opens a source --------------------------------------------------------
def add_source_args(p: argparse.ArgumentParser, speed_default: float | None, loop_help: str) -> None:
    g = p.add_argument_group("source")
    g.add_argument("--speed", type=float, default=speed_default,
                   help="files and synthetic streams: pace × the recording's clock; 0 = as fast as possible "
                        f"(default: {speed_default or 'as fast as possible'})")
    g.add_argument("--loop", action=argparse.BooleanOptionalAction, default=None, help=loop_help)
    g.add_argument("--protocol", choices=["edvs", "framed"], default="edvs", help="serial camera protocol")
    g.add_argument("--baud", type=number_arg(int, 1), help="serial baud rate (default 12000000, RTS/CTS)")
    g.add_argument("--sensor-size", type=sensor_size_arg, help="WxH, when the source does not say")
    g.add_argument("--reconnect-s", type=number_arg(float, 0), default=10.0,
                   help="keep trying to reopen a lost serial port this long before giving up (default 10)")


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", help="training checkpoint or exported firmware folder (default: the bundled SAST "
                                   "gesture model, models/zoo/gestures-sast-geometry10)")
    g.add_argument("--precision", choices=list(PRECISIONS),
                   help="float = surrogate spikes, hard = Heaviside spikes (PyTorch); int8/int4/wide = the "
                        f"on-sensor integer simulator (default: {DEPLOYED} for a checkpoint, an exported firmware "
                        "folder's own)")
    g.add_argument("--pj-per-synop", type=number_arg(float, 0, above=True), default=DEFAULT_PJ_PER_SYNOP,
                   help=f"energy per synaptic operation for the estimate (default {DEFAULT_PJ_PER_SYNOP} pJ, Loihi)")
    g.add_argument("--denoise", action=argparse.BooleanOptionalAction, default=False,
                   help="background-activity filter: keep an event only if a neighbour fired within --denoise-us")
    g.add_argument("--denoise-us", type=number_arg(int, 0), default=DEFAULT_DENOISE_US,
                   help=f"the denoise filter's window (default {DEFAULT_DENOISE_US} µs)")
    g.add_argument("--refractory-us", type=number_arg(int, 0),
                   help="refractory filter: drop events of a pixel within this many µs of its last kept one")
    g.add_argument("--hop-ms", type=number_arg(int, 0), default=DEFAULT_HOP_MS,
                   help="a prediction every HOP ms over the last window, the network running on (default "
                        f"{DEFAULT_HOP_MS}; 0 = back-to-back windows with fresh network state, as in training)")
    g.add_argument("--window-ms", type=number_arg(int, 1),
                   help="the window a streaming prediction averages over (default: the one stored with the model's "
                        "decision — 500 for the shipped gesture models — else the model's own; shorter answers sooner "
                        "after a gesture starts)")
    g.add_argument("--fit", choices=FITS, default=None,
                   help="a camera larger than the model's sensor (a DAVIS346, DVXplorer, Prophesee): pool = the whole "
                        "view pooled by the smallest whole factor that fits, centred; crop = its middle at full "
                        "resolution (default: refuse such a source)")
    g.add_argument("--roi", type=number_arg(int, 0), nargs=4, metavar=("X0", "Y0", "X1", "Y1"),
                   help="region of interest: only events with X0 <= x < X1 and Y0 <= y < Y1 reach the network "
                        "(stream pixels; the window draws it and lets you drag it)")
    g.add_argument("--taper", choices=TAPERS, default=None,
                   help="how a streaming window weighs its hops: flat = a plain mean, linear = newer hops count "
                        "more, so a new gesture wins sooner (default: the one stored with the model's decision)")


def source_options(args, loop_default: bool = False):
    from sast_live.session import SourceOptions

    return SourceOptions(speed=args.speed or None, loop=loop_default if args.loop is None else args.loop,
                         protocol=args.protocol, baud=args.baud, sensor_size=args.sensor_size,
                         reconnect_s=args.reconnect_s)


def pipeline_options(args):
    from sast_live.pipeline.options import PipelineOptions

    return PipelineOptions(model=args.model, precision=args.precision, pj_per_synop=args.pj_per_synop,
                           denoise_us=args.denoise_us if args.denoise else None, refractory_us=args.refractory_us,
                           hop_ms=args.hop_ms, window_ms=args.window_ms,
                           taper=args.taper, fit=args.fit, roi=tuple(args.roi) if args.roi else None)


# -- handlers ----------------------------------------------------------------------------------------------------
def cmd_gui(args) -> int:
    from sast_live.gui.launch import launch
    from sast_live.sources import DEMO

    spec = args.source or str(DEMO)
    sources = source_options(args, loop_default=args.source is None)  # the demo loops
    return launch(spec, sources, pipeline_options(args), frames=args.frames, panels=args.panels,
                  seconds=getattr(args, "seconds", None))


def cmd_replay(args) -> int:
    from sast_live.headless import run_headless
    from sast_live.session import Session

    if not args.headless:
        return cmd_gui(args)
    labels = None
    if getattr(args, "score", False):  # read the labels first: a missing file is an error before any work
        from pathlib import Path

        from sast_live.formats.dvs_gesture import labels_path_for, read_gesture_labels
        from sast_live.pipeline.backends import model_classes

        labels = read_gesture_labels(labels_path_for(Path(args.source)), len(model_classes(args.model)))
    session = Session(source_options(args), pipeline_options(args))
    windows = run_headless(session, args.source, as_json=args.json, seconds=args.seconds)
    if labels is not None:
        from sast_live.scoring import render_score, score_recording

        score = score_recording(windows, labels, session.backend.classes)
        print(json.dumps({"score": score}) if args.json else render_score(score))
    return 0


def cmd_live(args) -> int:
    from sast_live.sources import SERIAL_PREFIXES

    args.source = args.port if args.port.startswith(SERIAL_PREFIXES) else f"serial:{args.port}"
    return cmd_replay(args)


def cmd_record(args) -> int:
    from sast_live.errors import SastLiveError

    if args.dataset is None:
        if args.out is None or args.label is not None:
            raise SastLiveError("record needs an output file, or --label CLASS --dataset DIR to record takes")
        from sast_live.recorder import record

        source = source_options(args).open(args.source)
        if args.seconds is None and len(getattr(source, "motions", ())) > 1:
            # a stand-in person's motions in turn (a "try it" recording): one pass through them, then the file ends
            source.segments = len(source.motions)
        n, size = record(source, args.out, args.seconds, args.format, progress=not args.quiet)
        print(f"recorded {n} events ({size} bytes) to {args.out}")
        if getattr(source, "labels", None):  # a stand-in person: what it performed, as the model's labels
            write_segment_labels(source, args.out, args.model)
        return 0
    if args.out is not None or args.label is None:
        raise SastLiveError("with --dataset, give --label CLASS and no output file (takes go into the dataset)")
    from sast_live.pipeline.backends import DEFAULT_MODEL, model_classes
    from sast_live.recorder import record_takes
    from sast_live.takes import TakeSet, check_class_name

    check_class_name(args.label)
    source = source_options(args).open(args.source)
    takes = TakeSet.open_or_create(args.dataset, source.sensor_size, model_classes(args.model),
                                   str(args.model or DEFAULT_MODEL))
    stored = record_takes(source, takes, args.label, args.takes, args.seconds or 2.0, args.gap,
                          progress=not args.quiet)
    counts = takes.counts()[args.label]
    print(f"recorded {len(stored)} takes of {args.label!r} into {args.dataset} ({counts['train']} train, "
          f"{counts['test']} held out)")
    return 0 if len(stored) == args.takes else 1


def write_segment_labels(source, out, model) -> None:
    """``OUT``'s ``_labels.csv`` (IBM style, as ``replay --score`` reads it) of a stand-in person's segments, in
    the classes of ``model`` (the bundled one by default; a taught model knows its new motions)."""
    from sast_live.formats.dvs_gesture import gesture_labels_text, labels_path_for
    from sast_live.formats.registry import read_events
    from sast_live.pipeline.backends import model_classes
    from sast_live.sources.synthetic import segment_labels
    from sast_live.synthetic.people import NO_GESTURE
    from sast_live.takes import atomic_write_text

    t = read_events(out)["t"]
    classes = model_classes(model)
    rows, missing = segment_labels(source.labels, classes)
    # every motion asked for that the model lacks, whether or not its turn came before the recording ended (which
    # segments the source had rendered by then depends on how far ahead it ran)
    missing = sorted(set(missing) | {m for m in getattr(source, "motions", ()) if m != NO_GESTURE and m not in classes})
    if not getattr(source, "completed", False):  # a segment the recording cut short (--seconds, Ctrl-C): unlabelled
        rows = [(c, a, b) for c, a, b in rows if b <= int(t[-1]) + 1]
    path = labels_path_for(out)
    atomic_write_text(path, gesture_labels_text(rows))
    print(f"wrote {path} ({len(rows)} labelled segments" + (f"; {', '.join(missing)} left unlabelled: not a class "
                                                          "of the model (give --model the taught one)" if missing
                                                          else "") + ")")


def cmd_info(args) -> int:
    from sast_live.formats.registry import file_info
    from sast_live.model_info import is_model_path, model_info, render_model_info

    if args.format is None and is_model_path(args.file):
        info = model_info(args.file)
        print(json.dumps(info) if args.json else render_model_info(info))
        return 0
    info = file_info(args.file, args.format)
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>12}: {value}")
    return 0


def cmd_convert(args) -> int:
    from sast_live.convert import convert_file

    n, size = convert_file(args.input, args.output, in_format=args.in_format, out_format=args.format,
                           sensor_size=args.sensor_size)
    print(f"wrote {n} events ({size} bytes) to {args.output}")
    return 0


# -- the parser ------------------------------------------------------------------------------------------------
def register(sub) -> None:
    """Add this package's subcommands to ``main.py``'s subparsers."""
    p = sub.add_parser("gui", help="the desktop app: events, predictions, spikes and SynOps live "
                                   "(default: the bundled demo with the SAST INT8 gesture model)")
    p.add_argument("source", nargs="?", help=f"{SOURCES_HELP} (default: the bundled demo recording, looped)")
    add_model_args(p)
    add_source_args(p, 1.0, "loop a file (default: on for the demo)")
    p.add_argument("--frames", type=number_arg(int, 1),
                   help="close after rendering N frames (for tests and benchmarks)")
    p.add_argument("--panels", choices=("default", "all"), default="default",
                   help="all: open the network-input view and the teach panel too")
    p.set_defaults(func=cmd_gui)

    for name, what in (("replay", "run a model over a recording or source; --headless prints one line (--json) "
                                  "per window, without it the GUI opens"),
                       ("live", "like replay, from a serial event camera (eDVS4337 or the framed protocol)")):
        p = sub.add_parser(name, help=what)
        if name == "replay":
            p.add_argument("source", help=SOURCES_HELP)
            add_source_args(p, None, "loop a file")
        else:
            p.add_argument("port", help="serial port (/dev/ttyUSB0, a pty, socket://host:port; or edvs:/framed:PORT)")
            add_source_args(p, 1.0, "loop a file")
        add_model_args(p)
        p.add_argument("--headless", action="store_true", help="no window: print predictions")
        p.add_argument("--json", action="store_true", help="one JSON object per prediction window")
        p.add_argument("--seconds", type=number_arg(float, 0, above=True),
                       help="stop after this many seconds of wall time")
        p.add_argument("--frames", type=number_arg(int, 1), help=argparse.SUPPRESS)
        p.add_argument("--panels", choices=("default", "all"), default="default",
                       help="in the window, all: open the network-input view and the teach panel too")
        if name == "replay":
            p.add_argument("--score", action="store_true",
                           help="with --headless: score the predictions against the IBM-style labels file beside the "
                                "recording (<name>_labels.csv): windows right per gesture, latency, 'no gesture' in "
                                "the pauses")
        p.set_defaults(func=cmd_replay if name == "replay" else cmd_live)

    p = sub.add_parser("record", help="save any source (file, serial camera, USB camera, synthetic) to an event "
                                      "file, or record labelled takes of a gesture into a dataset (--label, --dataset)")
    p.add_argument("source", help=SOURCES_HELP)
    p.add_argument("out", nargs="?", help="output file (.raw EVT3, .dat, .npy, .bin; or --format)")
    add_source_args(p, 1.0, "loop a file (stop with --seconds or Ctrl-C)")
    p.add_argument("--seconds", type=number_arg(float, 0, above=True),
                   help="stop after this many seconds (default: until the source ends or Ctrl-C); with --dataset: "
                        "the length of each take (default 2)")
    p.add_argument("--format", help="output format (evt2, evt3, dat, nmnist, npy, aedat2)")
    g = p.add_argument_group("takes (teaching a gesture)")
    g.add_argument("--label", metavar="CLASS", help="the class the takes show: one of the model's or a new name")
    g.add_argument("--dataset", metavar="DIR", help="the folder of takes to add to (made on first use; every 4th "
                                                    "take of a class is held out for testing)")
    g.add_argument("--takes", type=number_arg(int, 1), default=1, help="how many takes to record (default 1)")
    g.add_argument("--gap", type=number_arg(float, 0), default=1.0,
                   help="seconds to get ready before each take (default 1)")
    g.add_argument("--model", help="the model whose classes a new dataset starts from, and, recording a stand-in "
                                   "person to a file, whose classes its _labels.csv names (default: the bundled "
                                   "gesture model)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("info", help="format, sensor size and event statistics of a recording; or, for a model, its "
                                    "classes, decision, what it was taught and from how many takes")
    p.add_argument("file", help="a recording, or a model (checkpoint or firmware folder)")
    p.add_argument("--format", help="force the input format (evt2, evt3, dat, nmnist, npy, aedat2, aedat3, aedat4)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert a recording between EVT2, EVT3, DAT, N-MNIST .bin, .npy and jAER's "
                                       "AEDAT 2.0 (and from AEDAT 3.1/4)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--format", help="output format (evt2, evt3, dat, nmnist, npy, aedat2 = jAER's AEDAT 2.0); "
                                    "default from the extension")
    p.add_argument("--in-format", help="force the input format")
    p.add_argument("--sensor-size", type=sensor_size_arg, help="WxH, when the input file does not say")
    p.set_defaults(func=cmd_convert)
