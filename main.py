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
    from training.train import TrainConfig

    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed, beta=args.beta, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, device=args.device, progress=not args.quiet, **fields)


def cmd_train(args) -> int:
    from training.train import train

    cfg = train_config(args, method=args.method, rho=args.rho, adaptive=args.adaptive,
                       second_batch=args.second_batch, out=args.out, resume=args.resume)
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
        from firmware_sim.hardware_eval import render_comparison

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
    from training.sweep import run_sweep

    rows = run_sweep(train_config(args), args.rho, args.out, compute_matched=args.compute_matched)
    print(json.dumps(rows))
    return 0


def cmd_overview(_args) -> int:
    print("SAST-Live — spiking networks from training to a live event sensor.\n")
    print("The GUI is not built yet; these subcommands are available now:")
    for name, helptext in SUBCOMMANDS:
        print(f"  python main.py {name:<12} {helptext}")
    print("\nRun  python main.py COMMAND --help  for the options of each.")
    return 0


SUBCOMMANDS = [
    ("info", "format, sensor size and event statistics of a recording"),
    ("convert", "convert a recording between EVT2, EVT3, DAT, N-MNIST .bin and .npy"),
    ("data synth", "generate synthetic N-MNIST or DVS-Gesture-like datasets"),
    ("train", "train a spiking network: SAST (surrogate forward + SAM) or a baseline"),
    ("evaluate", "report of a checkpoint: swap-only hard-spike transfer, robustness, calibration, SynOps"),
    ("sweep", "train and evaluate SAST over several rho, the baseline and a compute-matched baseline"),
    ("export", "quantize a checkpoint into a firmware model (INT8/INT4) and, with --c, portable C99"),
]


def sensor_size_arg(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sensor size must look like 640x480, got {text!r}") from exc
    return (w, h)


def add_training_args(p: argparse.ArgumentParser) -> None:
    """Options shared by ``train`` and ``sweep``."""
    p.add_argument("--dataset", default="nmnist-real", help="nmnist | nmnist-real | gestures | dataset folder")
    p.add_argument("--data-dir", help="folder of the synthetic dataset (generated on first use)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--beta", type=float, help="sigmoid slope of the surrogate (default: the model's, 5)")
    p.add_argument("--n-bins", type=int, help="time bins per window (default: the model's)")
    p.add_argument("--limit-train", type=int, help="use only N training samples")
    p.add_argument("--limit-test", type=int, help="use only N test samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


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
    p.add_argument("--method", choices=["sast", "surrogate", "sg"], default="sast")
    p.add_argument("--rho", type=float, default=0.3, help="SAM neighbourhood radius (sast)")
    p.add_argument("--adaptive", action=argparse.BooleanOptionalAction, default=False, help="adaptive SAM")
    p.add_argument("--second-batch", action=argparse.BooleanOptionalAction, default=False,
                   help="stochastic SAST: descent gradient from an independent minibatch")
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
    p.add_argument("--out", default="runs/sweep")
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


if __name__ == "__main__":
    sys.exit(main())
