#!/usr/bin/env python3
"""SAST-Live command line. Each subcommand is a small handler that builds configs and calls library code;
heavy modules (numba kernels, torch, Qt) are imported inside the handlers so ``--help`` stays instant."""

from __future__ import annotations

import argparse
import json
import sys


def cmd_info(args) -> int:
    from sast_live.formats.registry import file_info

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


def cmd_data_synth(args) -> int:
    from training.data.synth_cli import synth_dataset

    out = synth_dataset(args.dataset, args.out, n_per_class=args.n_per_class, seed=args.seed,
                        split=args.split, progress=not args.quiet, workers=args.workers)
    print(f"wrote {out}")
    return 0


def train_config(args, **fields):
    """The TrainConfig fields every training command shares (see ``add_training_args``), plus ``fields``."""
    from sast_live.errors import SastLiveError
    from training.train import TrainConfig

    if args.beta and len(args.beta) > 1:
        raise SastLiveError("--beta takes one sigmoid slope here (several values are a cvx/sg-cvx beta path)")
    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed, beta=args.beta[0] if args.beta else None, n_bins=args.n_bins,
                       limit_train=args.limit_train, limit_test=args.limit_test, device=args.device,
                       progress=not args.quiet, **fields)


def recon_config(args, method: str):
    """The ReconConfig of ``train --method cvx|sg-cvx`` and ``sweep --convex`` (see ``add_convex_args``)."""
    from training.convex.reconstruct import ReconConfig

    return ReconConfig(dataset=args.dataset, data_dir=args.data_dir, method=method, witness_from=args.witness_from,
                       loss=args.loss, betas=tuple(args.beta or ()), tol=args.tol, max_iter=args.max_iter,
                       witness_rate=args.witness_rate, dictionary=args.dictionary, features=args.features,
                       branches=args.branches, widths=tuple(args.widths), tau=args.tau, length=args.length,
                       n_train=args.n_train, n_test=args.n_test, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, finetune_epochs=args.finetune_epochs, lr=args.finetune_lr,
                       seed=args.seed, out=args.out, progress=not args.quiet)


def cmd_train(args) -> int:
    from sast_live.errors import SastLiveError
    from training.convex.tasks import is_task

    if args.method in ("cvx", "sg-cvx"):
        from training.convex.reconstruct import reconstruct

        print(json.dumps(reconstruct(recon_config(args, args.method)), default=float))
        return 0
    if is_task(args.dataset):
        from training.convex.sequence import run_sequence_sg

        if args.method != "sg":
            raise SastLiveError(f"the sequence task {args.dataset!r} trains with --method sg, cvx or sg-cvx")
        print(json.dumps(run_sequence_sg(args.dataset, args.out, args.epochs, args.lr, args.length, args.branches,
                                         tuple(args.widths), args.tau, args.features, args.n_train, args.n_test,
                                         args.init_from, args.seed, not args.quiet)))
        return 0
    from training.train import train

    cfg = train_config(args, method=args.method, rho=args.rho, adaptive=args.adaptive,
                       second_batch=args.second_batch, out=args.out, resume=args.resume, init_from=args.init_from)
    print(json.dumps(train(cfg)))
    return 0


def cmd_evaluate(args) -> int:
    from pathlib import Path

    from sast_live.errors import SastLiveError
    from sast_live.transforms.corruptions import CORRUPTIONS
    from training.evaluate import EvalConfig, evaluate

    names = [Path(c).with_suffix("").parent.name or Path(c).stem for c in args.checkpoint]
    if len(args.checkpoint) > 1 and args.out and len(set(names)) < len(names):
        raise SastLiveError(f"with several checkpoints, --out DIR holds one report per checkpoint folder name, "
                            f"but the names repeat: {names}")
    corruptions = () if not args.corruptions else tuple(args.only or CORRUPTIONS)
    reports = []
    for checkpoint, name in zip(args.checkpoint, names, strict=True):
        out = str(Path(args.out) / name) if args.out and len(args.checkpoint) > 1 else args.out
        cfg = EvalConfig(checkpoint, dataset=args.dataset, data_dir=args.data_dir, out=out,
                         corruptions=corruptions, severities=tuple(args.severities), limit_test=args.limit_test,
                         seed=args.seed, progress=not args.quiet, hardware=tuple(args.hardware or ()),
                         pj_per_synop=args.pj_per_synop)
        report = evaluate(cfg)
        reports.append(report)
        summary = {"checkpoint": checkpoint, "accuracy": report["accuracy"],
                   "ece_hard": report["calibration"]["hard"]["ece"],
                   "synops_per_sample": report["spikes_hard"]["synops_per_sample"]}
        if "hardware" in report:
            summary["hardware"] = {k: {"accuracy": v["accuracy"], "synops_per_sample": v["synops_per_sample"]}
                                   for k, v in report["hardware"].items()}
        print(json.dumps(summary))
    if args.table:
        from training.hardware_eval import render_comparison

        Path(args.table).write_text(render_comparison(reports))
        print(f"wrote {args.table}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from firmware_sim.c_export import write_c
    from firmware_sim.model_file import save_firmware
    from firmware_sim.quantize import QuantConfig, quantize_checkpoint

    qcfg = QuantConfig(weight_bits=args.bits, per_channel=not args.per_layer, membrane_bits=args.membrane_bits,
                       frac_bits=args.frac_bits, leak_form=args.leak, leak_shift=args.leak_shift)
    model = quantize_checkpoint(args.checkpoint, qcfg)
    out = save_firmware(model, args.out)
    files = [str(out / "firmware.json"), str(out / "firmware.safetensors")]
    if args.c:
        files += [str(p) for p in write_c(model, out)]
    summary = {"files": files, "weight_bits": model.weight_bits, "membrane_bits": model.membrane_bits,
               "leak": {"form": model.leak.form, "param": model.leak.param, "factor": model.leak.factor,
                        "trained_tau": model.tau}, "memory": model.memory_report()}
    if args.json:
        print(json.dumps(summary))
    else:
        m = summary["memory"]
        print(f"wrote {', '.join(files)}")
        print(f"INT{model.weight_bits} weights: {m['weights']:,} ({m['weight_bytes']:,} bytes); "
              f"state {m['state_bytes']:,} bytes ({m['neurons']:,} neurons at {model.membrane_bits} bits)")
        print(f"leak: {model.leak.form} {model.leak.param} = {model.leak.factor:.5f} per step "
              f"(trained tau {model.tau})")
    return 0


def cmd_sweep(args) -> int:
    if args.convex:
        from training.convex.compare import compare

        print(compare(recon_config(args, "cvx"), args.epochs, args.lr, args.sast_rho, args.out))
        return 0
    from training.sweep import run_sweep

    rows = run_sweep(train_config(args), args.rho, args.out, compute_matched=args.compute_matched)
    print(json.dumps(rows))
    return 0


def open_live_source(args, spec: str):
    from sast_live.sources import open_source

    speed = None if args.speed in (None, 0) else args.speed
    return open_source(spec, speed=speed, loop=getattr(args, "loop", False), protocol=args.protocol,
                       sensor_size=args.sensor_size, reconnect_s=args.reconnect_s, baud=args.baud)


def cmd_replay(args) -> int:
    from sast_live.app import run_headless
    from sast_live.pipeline import load_backend

    if not args.headless:
        return cmd_gui(args)
    source = open_live_source(args, args.source)
    run_headless(source, load_backend(args.model, args.precision), as_json=args.json, seconds=args.seconds,
                 pj_per_synop=args.pj_per_synop)
    return 0


def cmd_live(args) -> int:
    from sast_live.sources import SERIAL_PREFIXES

    port = args.port if args.port.startswith(SERIAL_PREFIXES) else f"serial:{args.port}"
    args.source, args.speed = port, 1.0
    return cmd_replay(args)


def cmd_gui(args) -> int:
    from sast_live.gui.launch import launch

    return launch(args)


def cmd_record(args) -> int:
    from sast_live.app import record

    n, size = record(open_live_source(args, args.source), args.out, args.seconds, args.format,
                     progress=not args.quiet)
    print(f"recorded {n} events ({size} bytes) to {args.out}")
    return 0


def cmd_emulate(args) -> int:
    from firmware_sim.emulate import emulate_camera

    emulate_camera(args.file, args.protocol, args.port, args.speed, args.loop, args.byte_errors, args.seed,
                   args.wait)
    return 0


def cmd_overview(args) -> int:
    """No subcommand: the GUI on the demo (it falls back to a headless replay where there is no display)."""
    return cmd_gui(build_parser().parse_args(["gui"]))


SUBCOMMANDS = [
    ("info", "format, sensor size and event statistics of a recording"),
    ("convert", "convert a recording between EVT2, EVT3, DAT, N-MNIST .bin and .npy"),
    ("data synth", "generate synthetic N-MNIST or DVS-Gesture-like datasets"),
    ("train", "train a spiking network: SAST (surrogate forward + SAM), a baseline, or the convex reconstruction"),
    ("evaluate", "report of a checkpoint: swap-only hard-spike transfer, robustness, calibration, SynOps"),
    ("sweep", "train and evaluate SAST over several rho, the baseline and a compute-matched baseline"),
    ("export", "quantize a checkpoint into a firmware model (INT8/INT4) and, with --c, portable C99"),
    ("gui", "the desktop app: events, predictions, spikes and SynOps live (default: the demo, SAST INT8)"),
    ("replay", "run a model over a recording or source; --headless prints one line (--json) per window"),
    ("live", "like replay, from a serial event camera (eDVS4337 or the framed protocol)"),
    ("record", "save any source (file, serial camera, USB camera, synthetic) to an event file"),
    ("emulate-camera", "stream a recording as a virtual serial camera on a pseudo-terminal"),
]


def sensor_size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sensor size must look like 640x480, got {text!r}") from exc
    return (w, h)


def add_training_args(p: argparse.ArgumentParser) -> None:
    """Options shared by ``train`` and ``sweep``."""
    p.add_argument("--dataset", default="nmnist-real",
                   help="nmnist | nmnist-real | gestures | dataset folder; train also: xor add2 add3 add5 smnist")
    p.add_argument("--data-dir", help="folder of the synthetic dataset (generated on first use)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--beta", type=float, nargs="+",
                   help="sigmoid slope of the surrogate (default: the model's, 5); for cvx/sg-cvx the l1 weights "
                        "of the beta path, rho = beta/sqrt(P) (default: beta_max × 0.3 0.1 0.03 0.01 0.003)")
    p.add_argument("--n-bins", type=int, help="time bins per window (default: the model's)")
    p.add_argument("--limit-train", type=int, help="use only N training samples")
    p.add_argument("--limit-test", type=int, help="use only N test samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_convex_args(p: argparse.ArgumentParser) -> None:
    """Options of the convex reconstruction and the sequence tasks (``train``, ``sweep --convex``)."""
    g = p.add_argument_group("convex reconstruction (cvx, sg-cvx)")
    g.add_argument("--witness-from", metavar="CKPT", help="sg-cvx: keep this trained checkpoint's hidden weights")
    g.add_argument("--loss", choices=["ce", "hinge", "squared"], default="ce", help="convex loss (default ce)")
    g.add_argument("--tol", type=float, default=1e-4, help="relative duality gap that ends a solve")
    g.add_argument("--max-iter", type=int, default=2000, help="proximal steps per beta")
    g.add_argument("--witness-rate", type=float, default=0.1, help="cvx: spike rate of each Gaussian layer")
    g.add_argument("--dictionary", choices=["hard", "int8", "int4"], default="hard",
                   help="event networks: the simulator that computes the spike dictionary")
    g.add_argument("--finetune-epochs", type=int, default=0, help="then SG fine-tuning for N epochs")
    g.add_argument("--finetune-lr", type=float, default=1e-4)
    g = p.add_argument_group("sequence tasks (--dataset xor | add2 | add3 | add5 | smnist)")
    g.add_argument("--length", type=int, help="T (xor, smnist) or digits (addition); default 8 / 7 / 4")
    g.add_argument("--features", choices=["spike", "membrane", "count"], default="spike",
                   help="last-layer readout features of the parallel network")
    g.add_argument("--branches", type=int, default=1024, help="parallel branches K")
    g.add_argument("--widths", type=int, nargs="+", default=[4, 1], help="layer widths of each branch")
    g.add_argument("--tau", type=float, default=0.9, help="leak of the parallel network")
    g.add_argument("--n-train", type=int, default=4000, help="training sequences (+ a quarter for validation)")
    g.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--adaptive", action=argparse.BooleanOptionalAction, default=False, help="adaptive SAM")
    p.add_argument("--second-batch", action=argparse.BooleanOptionalAction, default=False,
                   help="stochastic SAST: descent gradient from an independent minibatch")


def add_source_args(p: argparse.ArgumentParser, paced_default: float | None) -> None:
    """Options of every command that opens a source."""
    p.add_argument("--speed", type=float, default=paced_default,
                   help="replay pace × the recording's clock; 0 = as fast as possible "
                        f"(default: {paced_default or 'as fast as possible'})")
    p.add_argument("--protocol", choices=["edvs", "framed"], default="edvs", help="serial camera protocol")
    p.add_argument("--baud", type=int, help="serial baud rate (default 12000000, RTS/CTS)")
    p.add_argument("--sensor-size", type=sensor_size_arg, help="WxH, when the source does not say")
    p.add_argument("--reconnect-s", type=float, default=10.0,
                   help="keep trying to reopen a lost serial port this long before giving up")


def add_model_args(p: argparse.ArgumentParser, pj_default: float) -> None:
    p.add_argument("--model", help="training checkpoint or exported firmware folder (default: the bundled "
                                   "SAST gesture model, models/zoo/gestures-sast)")
    p.add_argument("--precision", choices=["float", "hard", "int8", "int4"], default="int8",
                   help="float = surrogate spikes, hard = Heaviside spikes, int8/int4 = the on-sensor simulator")
    p.add_argument("--pj-per-synop", type=float, default=pj_default, help="energy per synaptic operation")


def build_parser() -> argparse.ArgumentParser:
    from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP

    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    parser.set_defaults(func=cmd_overview)
    sub = parser.add_subparsers(title="subcommands", metavar="COMMAND")

    p = sub.add_parser("info", help=SUBCOMMANDS[0][1])
    p.add_argument("file")
    p.add_argument("--format", help="force the input format (evt2, evt3, dat, nmnist, npy, aedat3, aedat4)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help=SUBCOMMANDS[1][1])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--format", help="output format (evt2, evt3, dat, nmnist, npy); default from the extension")
    p.add_argument("--in-format", help="force the input format")
    p.add_argument("--sensor-size", type=sensor_size_arg, help="WxH, when the input file does not say")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("data", help="datasets")
    data_sub = p.add_subparsers(title="data commands", metavar="ACTION", required=True)
    s = data_sub.add_parser("synth", help=SUBCOMMANDS[2][1])
    s.add_argument("--dataset", choices=["nmnist", "gestures"], required=True)
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--n-per-class", type=int, default=100, help="samples per class and split (default 100)")
    s.add_argument("--split", choices=["train", "test", "both"], default="both")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=1, help="processes generating samples in parallel")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_data_synth)

    p = sub.add_parser("train", help=SUBCOMMANDS[3][1])
    add_training_args(p)
    p.add_argument("--method", choices=["sast", "surrogate", "sg", "cvx", "sg-cvx"], default="sast",
                   help="sast | surrogate | sg (gradient training) | cvx | sg-cvx (convex readout reconstruction)")
    p.add_argument("--rho", type=float, default=0.3, help="SAM neighbourhood radius (sast)")
    p.add_argument("--init-from", metavar="CKPT", help="start from this checkpoint's network and weights "
                   "(e.g. --method sg --init-from runs/cvx/model: SG fine-tuning of a reconstruction)")
    add_convex_args(p)
    p.add_argument("--out", default="runs/train", help="output folder (metrics.jsonl, last.*, model.*)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=False,
                   help="continue from OUT/last after an interruption")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help=SUBCOMMANDS[4][1])
    p.add_argument("checkpoint", nargs="+", help="OUT/model of a training run (the .json/.safetensors pair); "
                   "several give one report each and, with --table, a side-by-side table")
    p.add_argument("--dataset", help="default: the one the checkpoint was trained on")
    p.add_argument("--data-dir")
    p.add_argument("--out", help="report folder (default: next to the checkpoint, eval/); with several "
                   "checkpoints, one subfolder per checkpoint folder name")
    p.add_argument("--corruptions", action=argparse.BooleanOptionalAction, default=True,
                   help="run the corruption-robustness sweep")
    p.add_argument("--only", nargs="+", metavar="KIND", help="only these corruptions")
    p.add_argument("--severities", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--limit-test", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hardware", nargs="+", metavar="PRECISION",
                   help="also run the integer on-sensor simulator at these precisions: int8 int4 wide")
    p.add_argument("--pj-per-synop", type=float, default=DEFAULT_PJ_PER_SYNOP,
                   help=f"energy per synaptic operation for the estimate (default {DEFAULT_PJ_PER_SYNOP} pJ, Loihi)")
    p.add_argument("--table", help="write a markdown table comparing the checkpoints (float vs integer)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("sweep", help=SUBCOMMANDS[5][1])
    add_training_args(p)
    p.add_argument("--rho", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    p.add_argument("--compute-matched", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the baseline for 2x epochs (SAST's gradient budget)")
    p.add_argument("--convex", action="store_true",
                   help="instead of a rho sweep: CVX vs SG vs SG-CVX vs SG fine-tuned from CVX (+ SAST, SAST-CVX on "
                        "event data) in one table")
    p.add_argument("--sast-rho", type=float, default=0.3, help="--convex on event data: SAST's rho")
    p.add_argument("--out", default="runs/sweep")
    add_convex_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("export", help=SUBCOMMANDS[6][1])
    p.add_argument("checkpoint", help="OUT/model of a training run")
    p.add_argument("--bits", type=int, choices=[8, 4, 16], default=8, help="weight bits (16: wide, for checks)")
    p.add_argument("--out", required=True, help="output folder (firmware.json, firmware.safetensors, C files)")
    p.add_argument("--c", action="store_true", help="also write portable C99 (sast_model.[ch], sast_demo.c)")
    p.add_argument("--per-layer", action="store_true", help="one weight scale per layer instead of per channel")
    p.add_argument("--membrane-bits", type=int, default=16, help="saturating membrane width (8 12 16 24 32)")
    p.add_argument("--frac-bits", type=int, default=0, help="membrane bits below one weight step")
    p.add_argument("--leak", choices=["multiply", "shift"], default="multiply",
                   help="leak as (v*m)>>shift or v - v>>k, both rounded toward zero")
    p.add_argument("--leak-shift", type=int, default=8, help="denominator bits of the multiply leak")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("gui", help=SUBCOMMANDS[7][1])
    p.add_argument("source", nargs="?", help="file, serial:PORT, edvs:PORT, framed:PORT, dv:, synthetic:gestures "
                                             "(default: the bundled demo recording, looped)")
    add_model_args(p, DEFAULT_PJ_PER_SYNOP)
    add_source_args(p, 1.0)
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=None,
                   help="loop a file (default: on for the demo)")
    p.add_argument("--frames", type=int, help="close after rendering N frames (for tests and benchmarks)")
    p.set_defaults(func=cmd_gui)

    for name, idx in (("replay", 8), ("live", 9)):
        p = sub.add_parser(name, help=SUBCOMMANDS[idx][1])
        if name == "replay":
            p.add_argument("source", help="file, serial:PORT, edvs:PORT, framed:PORT, dv:, synthetic:gestures")
            add_source_args(p, None)
            p.add_argument("--loop", action="store_true", help="loop a file")
        else:
            p.add_argument("port", help="serial port (/dev/ttyUSB0, a pty, socket://host:port)")
            add_source_args(p, 1.0)
        add_model_args(p, DEFAULT_PJ_PER_SYNOP)
        p.add_argument("--headless", action="store_true", help="no window: print predictions")
        p.add_argument("--json", action="store_true", help="one JSON object per prediction window")
        p.add_argument("--seconds", type=float, help="stop after this many seconds of wall time")
        p.add_argument("--frames", type=int, help=argparse.SUPPRESS)
        p.set_defaults(func=cmd_replay if name == "replay" else cmd_live)

    p = sub.add_parser("record", help=SUBCOMMANDS[10][1])
    p.add_argument("source", help="file, serial:PORT, edvs:PORT, framed:PORT, dv:, synthetic:gestures")
    p.add_argument("out", help="output file (.raw EVT3, .dat, .npy, .bin; or --format)")
    add_source_args(p, 1.0)
    p.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, help="stop after this many seconds (default: until the source ends "
                                                 "or Ctrl-C)")
    p.add_argument("--format", help="output format (evt2, evt3, dat, nmnist, npy)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("emulate-camera", help=SUBCOMMANDS[11][1])
    p.add_argument("file", help="the recording to stream")
    p.add_argument("--protocol", choices=["edvs", "framed"], default="edvs")
    p.add_argument("--port", help="write to this serial device instead of a new pseudo-terminal")
    p.add_argument("--speed", type=float, default=1.0, help="pace × the recording's clock")
    p.add_argument("--loop", action="store_true", help="start over at the end")
    p.add_argument("--byte-errors", type=float, default=0.0,
                   help="probability per byte of a flipped, dropped or duplicated byte")
    p.add_argument("--seed", type=int, default=0, help="seed of the injected errors")
    p.add_argument("--wait", action=argparse.BooleanOptionalAction, default=True,
                   help="wait for the host's E+ before streaming (as the real boards do)")
    p.set_defaults(func=cmd_emulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sast_live.errors import SastLiveError

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
