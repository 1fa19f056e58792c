"""Training's subcommands: ``data synth|gallery|demo``, ``train``, ``evaluate``, ``sweep``, ``overview``,
``calibrate``, ``choose-window``, ``scenes``.

:func:`register` adds them to ``main.py``'s parser (the options are :mod:`training.options`); torch and the trainers
are imported inside the handlers, each a few lines that build a config and call library code.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP
from firmware_sim.precisions import INTEGER
from models.decision import GATE_FEATURES
from sast_live.errors import SastLiveError
from sast_live.pipeline.backends import DEFAULT_MODEL
from training.options import (
    FINE_TUNED,
    add_convex_args,
    add_method_args,
    add_train_args,
    add_training_args,
    check_dataset_or_task,
    fill_unset,
    recon_config,
    train_config,
)

REPO = Path(__file__).resolve().parents[1]


# -- data ---------------------------------------------------------------------------------------------------------
def cmd_data_synth(args) -> int:
    from training.data.synth import synth_dataset

    out = synth_dataset(args.dataset, args.out, n_per_class=args.n_per_class, seed=args.seed,
                        split=args.split, progress=not args.quiet, workers=args.workers,
                        classes=args.classes.split(",") if args.classes else None)
    print(f"wrote {out}")
    return 0


def cmd_data_gallery(args) -> int:
    from training.data.gallery import gallery, statistics

    gallery(Path(args.out))
    print(f"wrote {args.out}")
    if args.per_class:
        print(statistics(args.per_class))
    return 0


def cmd_data_realism(args) -> int:
    from training.data.realism import (
        dataset_recordings,
        real_recordings,
        render_realism,
        synthetic_recordings,
        write_realism,
    )
    from training.data.resolve import shared_data

    real = real_recordings(shared_data(), args.files)
    if args.synthetic:
        synthetic = dataset_recordings(args.synthetic)
    else:
        synthetic = synthetic_recordings(args.per_class, args.seed)
    report = write_realism(Path(args.out), real, synthetic)
    print(render_realism(report))
    print(f"wrote {args.out}/realism.md, realism.json, realism.png", file=sys.stderr)
    return 0


def cmd_data_demo(args) -> int:
    from training.data.make_demo import make_demo

    path, labels = make_demo(Path(args.out))
    print(f"wrote {path} ({path.stat().st_size:,} bytes) and {labels}")
    return 0


# -- training -----------------------------------------------------------------------------------------------------
#: options of the gradient methods (sast, surrogate, sg) that ``train --method cvx|sg-cvx`` has no use for, each
#: None, False or 0 when not given: the convex path reconstructs a network of its own (--widths, --features),
#: fine-tunes it with --finetune-epochs / --finetune-lr, and takes a trained network only as --witness-from
GRADIENT_ONLY = ("epochs", "lr", "rho", "rho_warmup", "schedule", "validation", "augment", "augment_geometry",
                 "geometry_each", "geometry_wide", "mirror", "onset", "keep_old", "keep_old_from", "freeze_features",
                 "channels", "in_size", "readout_tied", "init_from", "resume", "adaptive", "second_batch", "hard_loss",
                 "outliers", "outlier_weight")


def gradient_options_given(args) -> list[str]:
    """The :data:`GRADIENT_ONLY` options given on the command line, as typed (``--in-size``)."""
    return [f"--{k.replace('_', '-')}" for k in GRADIENT_ONLY if getattr(args, k, None) not in (None, False, 0)]


def cmd_train(args) -> int:
    from training.finetune import is_takes_folder

    if args.init_from and is_takes_folder(args.dataset):
        return cmd_finetune(args)
    if args.method == "readout" or args.readout_l2 is not None:
        raise SastLiveError("--method readout (and --readout-l2) teach a model: give --init-from MODEL and a folder "
                            "of takes as --dataset")
    gradient_only = gradient_options_given(args)  # before fill_unset, while "not given" still reads None
    fill_unset(args, {k: getattr(args, k) for k in FINE_TUNED})
    from training.convex.tasks import is_task

    if is_task(args.dataset):  # an option that would be silently ignored is refused
        given = [f"--{k.replace('_', '-')}" for k in (*WINDOW_AUGMENTATIONS, "in_size") if getattr(args, k, None)]
        if given:
            raise SastLiveError(f"{', '.join(given)} change event windows; the sequence task {args.dataset!r} has "
                                "none (leave them out)")
    if args.method in ("cvx", "sg-cvx"):
        from training.convex.reconstruct import reconstruct

        if gradient_only:
            raise SastLiveError(f"{', '.join(gradient_only)}: options of the gradient methods (sast, surrogate, sg); "
                                f"--method {args.method} reconstructs a network of its own (its options: --widths, "
                                "--features, --l1, --finetune-epochs, --finetune-lr, --witness-from)")
        summary = reconstruct(recon_config(args, args.method))
        if summary is not None:  # one summary from a run of several processes: the first one's
            print(json.dumps(summary, default=float))
        return 0
    if is_task(args.dataset):
        return cmd_sequence_sg(args)
    if args.method == "sg":  # the one gradient method of both worlds: name the tasks too
        check_dataset_or_task(args.dataset)
    from training.train import train

    print(json.dumps(train(train_config(args, **run_fields(args)))))
    return 0


#: train's options that augment event windows (training.augment): nothing to do on a sequence task
WINDOW_AUGMENTATIONS = ("augment", "augment_geometry", "geometry_each", "geometry_wide", "mirror", "onset",
                        "outliers")


def run_fields(args) -> dict:
    """``train``'s TrainConfig fields beyond those every training command shares."""
    if args.outlier_weight is not None and not args.outliers:
        raise SastLiveError("--outlier-weight weighs the loss of --outliers; add --outliers DATASET")
    fields = {k: getattr(args, k) for k in ("method", "rho", "out", "resume", "init_from", "augment", "validation",
                                            "schedule", "rho_warmup", "onset", "keep_old", "keep_old_from",
                                            "freeze_features", "augment_geometry", "outliers")}
    return fields if args.outlier_weight is None else {**fields, "outlier_weight": args.outlier_weight}


def cmd_finetune(args) -> int:
    """``train --init-from CKPT --dataset TAKES``: the readout refitted (default), or with ``--method sast|
    surrogate|sg`` the whole network fine-tuned with few-shot defaults; then the INT8 report on the takes."""
    from training.finetune import check_takes, few_shot_fields, old_classes_dataset, render, report
    from training.train import train

    if args.method in (None, "readout"):
        return cmd_teach(args)
    if args.readout_l2 is not None:
        raise SastLiveError("--readout-l2 belongs to --method readout")
    check_takes(args.dataset)
    given = few_shot_fields(args.init_from, {k: getattr(args, k) for k in FINE_TUNED})
    if args.keep_old_from is None:  # the base model's dataset, or a proportionate part of it generated now
        args.keep_old_from = old_classes_dataset(args.init_from, given["keep_old"], not args.quiet)
    fill_unset(args, given)
    print(json.dumps(train(train_config(args, **run_fields(args)))))
    print(render(report(args.out, args.init_from, args.dataset, not args.quiet, args.keep_old_from)))
    return 0


def cmd_teach(args) -> int:
    """``train --init-from CKPT --dataset TAKES [--method readout]``: :func:`training.teach.readout.teach`."""
    from training.teach.readout import LAMBDA, render, teach

    given = [f"--{k.replace('_', '-')}" for k in (*FINE_TUNED, "outliers", "outlier_weight", "in_size")
             if k != "method" and getattr(args, k, None) is not None]
    if given:
        raise SastLiveError(f"{', '.join(given)}: options of a full fine-tuning (--method sast); teaching by "
                            "refitting the readout (the default) trains no epochs")
    lam = LAMBDA if args.readout_l2 is None else args.readout_l2
    if not (lam > 0 and math.isfinite(lam)):
        raise SastLiveError(f"--readout-l2 must be a positive number, got {args.readout_l2}")
    summary = teach(str(args.init_from), args.dataset, args.out, lam=lam, progress=not args.quiet)
    print(render(summary))
    return 0


def cmd_teach_bank(args) -> int:
    from sast_live.model_info import bank_path
    from training.teach.bank import Bank, build_bank, negative_items, with_negatives
    from training.teach.check import store_feature_check, store_gate

    if args.gate is not None and not (args.gate == 0 or 0 < args.gate < 0.5):
        raise SastLiveError(f"--gate {args.gate:g}: give the share of gesture windows the gate may close, in (0, 0.5) "
                            "(e.g. 0.02), or 0 to remove the gate")
    if args.gate == 0 and (args.gate_features or args.gate_negatives):
        raise SastLiveError("--gate 0 removes the gate; --gate-features and --gate-negatives are for fitting one")
    if args.gate is None and args.gate_features:
        from models.checkpoint.files import read_checkpoint_meta

        if not (read_checkpoint_meta(str(args.checkpoint))[0].get("decision") or {}).get("gate"):
            raise SastLiveError(f"--gate-features: {args.checkpoint} has no no-gesture gate to refit; give --gate "
                                "SHARE (e.g. 0.02) to fit one")
    path = bank_path(args.checkpoint)
    if args.check_only:
        bank = Bank.load(path)
    else:
        bank = build_bank(args.checkpoint, args.dataset, args.data_dir, progress=not args.quiet)
        bank.save(path)
        print(f"wrote {path}: {len(bank)} recordings ({bank.source}), {len(bank.counts)} hops of {bank.hop_bins} "
              f"bins, {path.stat().st_size / 1e6:.1f} MB")
    if args.gate_negatives:
        items = negative_items(args.checkpoint, args.gate_negatives, bank.hop_bins, progress=not args.quiet)
        bank = with_negatives(bank, items, f"{len(items)} no-gesture recordings of {args.gate_negatives}'s training "
                                           "people (with moved copies)")
        bank.save(path)
        print(f"wrote {path}: {len(items)} no-gesture recordings for the gate's fit, "
              f"{path.stat().st_size / 1e6:.1f} MB")
    check = store_feature_check(args.checkpoint, bank)
    print(f"unfamiliar-scene check on the last layer's activity: a window further than {check.max_distance:,.1f} "
          f"(squared Mahalanobis) from every class is unfamiliar; written into {args.checkpoint}'s decision")
    gate = store_gate(args.checkpoint, bank, args.gate, args.gate_features)
    if gate is not None:
        print(f"no-gesture gate: a gesture claim whose window is more than {gate.limit:.1%} likely to hold no gesture "
              f"is answered no gesture ({gate.lost:.1%} of the validation people's gesture windows named right); "
              f"written into {args.checkpoint}'s decision")
    elif args.gate == 0:
        print(f"no no-gesture gate in {args.checkpoint}'s decision")
    return 0


def cmd_forget(args) -> int:
    from training.teach.readout import LAMBDA, forget

    s = forget(args.checkpoint, args.name, args.out, LAMBDA)
    print(f"wrote {s['model']} without {s['forgot']}: {len(s['classes'])} classes; readout refitted on "
          f"{s['windows_fitted']} windows, within {s['certificate']['gap_bound']:.1e} of the optimum (INT8 firmware: "
          f"{s['firmware']})")
    return 0


def cmd_sequence_sg(args) -> int:
    from sast_live.errors import SastLiveError
    from training.convex.sequence import run_sequence_sg

    if args.method != "sg":
        raise SastLiveError(f"the sequence task {args.dataset!r} trains with --method sg, cvx or sg-cvx")
    print(json.dumps(run_sequence_sg(recon_config(args, "cvx"), args.epochs, args.lr, args.init_from)))
    return 0


# -- reports and studies --------------------------------------------------------------------------------------------
def cmd_evaluate(args) -> int:
    from sast_live.transforms.corruptions import CORRUPTIONS
    from training.evaluation.report import evaluate_many, summary
    from training.evaluation.robustness import DEFAULT_GRID, parse_grid

    grid = parse_grid(args.grid) if args.grid else (DEFAULT_GRID if args.robustness else None)
    reports = evaluate_many(args.checkpoint, args.out, dataset=args.dataset, data_dir=args.data_dir,
                            corruptions=tuple(args.only or CORRUPTIONS) if args.corruptions else (),
                            severities=tuple(args.severities), limit_test=args.limit_test, seed=args.seed,
                            progress=not args.quiet, hardware=tuple(args.hardware or ()),
                            pj_per_synop=args.pj_per_synop, live=args.live, grid=grid, split=args.split)
    for report in reports:
        print(json.dumps(summary(report)))
    if args.table:
        from training.evaluation.hardware import render_comparison

        Path(args.table).write_text(render_comparison(reports))
        print(f"wrote {args.table}", file=sys.stderr)
    return 0


def cmd_scenes(args) -> int:
    from firmware_sim.precisions import PRECISIONS
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from training.evaluation.outside import footage_files, footage_report, render_footage

    footage_files(args.footage)  # a missing path is named before the model loads
    backend = load_backend(args.model, PRECISIONS["int8"])
    if tuple(backend.bin_cfg.sensor_size) != (128, 128):
        raise SastLiveError(f"scenes checks a gesture model (128×128); {args.model} is "
                            f"{backend.bin_cfg.sensor_size[0]}×{backend.bin_cfg.sensor_size[1]}")
    report = footage_report(backend, args.footage, PipelineOptions(), args.fit, args.min_seconds, args.seed,
                            progress=not args.quiet)
    print("\n".join(render_footage(report)))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": str(args.model), "fit": args.fit, **report}, indent=1))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0 if report["summary"]["passes"] or not args.strict else 3


def cmd_sweep(args) -> int:
    if args.convex:
        from training.convex.compare import compare_over_seeds

        print(compare_over_seeds(recon_config(args, "cvx"), args.epochs, args.lr, args.sast_rho, args.out, args.seeds))
        return 0
    from training.studies.sweep import run_sweep

    result = run_sweep(train_config(args), args.rho, args.out, compute_matched=args.compute_matched,
                       seeds=args.seeds, variants=tuple(args.variants), sg=args.sg, hardware=tuple(args.hardware),
                       extra_test=args.extra_test, report_only=args.report_only)
    print((Path(args.out) / "sweep.md").read_text())
    print(f"wrote {Path(args.out) / 'sweep.json'}, sweep.md and sweep.png", file=sys.stderr)
    return 0 if result["runs"] else 1


def cmd_overview(args) -> int:
    from training.studies.overview import load, plot

    plot([load(path) for path in args.sweeps], args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


# -- the app's decision ----------------------------------------------------------------------------------------------
def cmd_calibrate(args) -> int:
    from models.checkpoint.files import read_checkpoint_meta
    from training.decision.recalibrate import recalibrate

    fig = recalibrate(args.checkpoint, progress=not args.quiet)
    d = read_checkpoint_meta(str(args.checkpoint))[0].get("decision") or {}
    print(f"{args.checkpoint}: T {fig['temperature']:.3f}, ECE on validation {fig['ece_before']:.4f} → "
          f"{fig['ece_after']:.4f} ({fig['n']} samples)"
          + (f", offsets {fig['logit_offsets']}" if "logit_offsets" in fig else "")
          + "; a gesture model's streaming window is chosen again with `main.py choose-window CKPT --write`"
          + ("; its activity check and no-gesture gate are kept (refit their limits with `main.py teach-bank CKPT "
             "--check-only`)" if d.get("familiar") or d.get("gate") else ""))
    return 0


def cmd_choose_window(args) -> int:
    from training.decision.streaming import choose_window, render

    table, best, path = choose_window(args.checkpoint, args.out, args.write)
    print(render(table, best))
    print(f"wrote {path}" + (f"; stored {best} in {args.checkpoint}.json" if args.write else ""), file=sys.stderr)
    return 0


def register(sub) -> None:
    """Add this package's subcommands to ``main.py``'s subparsers."""
    register_data(sub)

    p = sub.add_parser("train", help="train a spiking network: SAST (surrogate forward + SAM), a baseline, or the "
                                     "convex reconstruction; with --init-from and a folder of takes: fine-tune")
    add_training_args(p, unset=True)
    add_train_args(p)
    add_method_args(p)
    add_convex_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="report of a checkpoint: swap-only hard-spike transfer, robustness, "
                                        "calibration, SynOps")
    p.add_argument("checkpoint", nargs="+", help="OUT/model of a training run (the .json/.safetensors pair); "
                   "several give one report each and, with --table, a side-by-side table")
    p.add_argument("--dataset", help="default: the one the checkpoint was trained on (only its test split is read)")
    p.add_argument("--data-dir")
    p.add_argument("--split", choices=["test", "validation"], default="test",
                   help="which recordings: the test split (default), or the validation subjects the checkpoint's "
                        "training held out of its training split — to compare models or recipes without looking "
                        "at the test set")
    p.add_argument("--out", help="report folder (default: next to the checkpoint, eval/); with several "
                   "checkpoints, one subfolder per checkpoint folder name")
    p.add_argument("--corruptions", action=argparse.BooleanOptionalAction, default=True,
                   help="run the corruption-robustness sweep")
    p.add_argument("--only", nargs="+", metavar="KIND", help="only these corruptions")
    p.add_argument("--severities", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    p.add_argument("--limit-test", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hardware", nargs="+", metavar="PRECISION",
                   help=f"also run the integer on-sensor simulator at these precisions: {' '.join(INTEGER)}")
    p.add_argument("--pj-per-synop", type=float, default=DEFAULT_PJ_PER_SYNOP,
                   help=f"energy per synaptic operation for the estimate (default {DEFAULT_PJ_PER_SYNOP} pJ, Loihi)")
    p.add_argument("--table", help="write a markdown table comparing the checkpoints (float vs integer)")
    p.add_argument("--live", action="store_true",
                   help="also run the live app's streaming pipeline (INT8, a prediction every 250 ms): scored on the "
                        "bundled demo, and on scenes with no gesture (silence, noise, hot pixels, real recordings "
                        "of cars, pedestrians, sparklers)")
    p.add_argument("--robustness", action="store_true",
                   help="also the robustness grid at INT8: the test recordings resized (scale 0.6 0.75 1.25 1.5), "
                        "shifted (±20 px), turned (±15°), re-timed (speed 0.6 1.6) and seen by each sensor profile "
                        "(dvs128 davis346 dvxplorer atis prophesee-gen3 prophesee-gen4), one change at a time; a "
                        "table and robustness-grid.png")
    p.add_argument("--grid", nargs="+", metavar="AXIS=V1,V2",
                   help="a grid of your own instead (implies --robustness): axes scale, shift (x pixels), rotation "
                        "(degrees), speed, sensor (profile names); e.g. --grid scale=0.5,2 sensor=dvs128")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    register_studies(sub)
    register_decision(sub)


def register_data(sub) -> None:
    p = sub.add_parser("data", help="datasets: generate them, picture them, make the bundled demo")
    data_sub = p.add_subparsers(title="data commands", metavar="ACTION", required=True)
    s = data_sub.add_parser("synth", help="generate synthetic N-MNIST or DVS-Gesture-like datasets")
    s.add_argument("--dataset", choices=["nmnist", "gestures", "gestures-v2", "gestures-v3"], required=True,
                   help="nmnist: real MNIST digits in saccades; gestures: outline figures; gestures-v2: filled people "
                        "from 29 subjects (23 train / 6 test) under natural, fluorescent and LED light; gestures-v3: "
                        "those people with domain randomisation (any size, place, roll, tilt, tempo, sensor profile, "
                        "real events mixed in, walkers and a hand near the lens as no gesture)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--n-per-class", type=int, default=100, help="samples per class and split (default 100)")
    s.add_argument("--split", choices=["train", "test", "both"], default="both")
    s.add_argument("--classes", metavar="C1,C2",
                   help="only these classes' samples (the files a whole run writes for them), e.g. no_gesture")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=1, help="processes generating samples in parallel")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_data_synth)
    s = data_sub.add_parser("gallery", help="a picture of every gestures-v2 class under each lighting, and the event "
                                            "statistics table of the README")
    s.add_argument("--out", type=Path, default=REPO / "docs" / "gestures.png",
                   help="the PNG (default docs/gestures.png)")
    s.add_argument("--per-class", type=int, default=3,
                   help="recordings per gesture class and lighting for the table (0: no table; default 3)")
    s.set_defaults(func=cmd_data_gallery)
    s = data_sub.add_parser("realism", help="synthetic recordings beside real ones: event rate, ON/OFF, occupancy, "
                                            "concentration, per-pixel rates and intervals, spatial support, noise "
                                            "clustering; each camera's sensor statistics against its real files")
    s.add_argument("files", nargs="*", help="real recordings (default: every one in ../shared/data/real)")
    s.add_argument("--per-class", type=int, default=1,
                   help="synthetic gestures-v3 recordings per class and sensor profile (and as many synthetic digits; "
                        "default 1)")
    s.add_argument("--synthetic", metavar="DIR", help="instead: the recordings of this dataset folder (its test split, "
                                                         "else its train split)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", type=Path, default=Path("runs/realism"), help="report folder (default runs/realism)")
    s.set_defaults(func=cmd_data_realism)
    s = data_sub.add_parser("demo", help="make the bundled demo recording (a held-out test subject, EVT3) and its "
                                         "labels")
    demo = REPO / "sast_live" / "assets" / "demo_gestures.raw"  # sast_live.sources.DEMO, without loading numba
    s.add_argument("--out", type=Path, default=demo, help=f"the recording (default {demo.relative_to(REPO)})")
    s.set_defaults(func=cmd_data_demo)


def register_studies(sub) -> None:
    p = sub.add_parser("sweep", help="train and evaluate SAST over several rho, the baseline and a compute-matched "
                                     "baseline")
    add_training_args(p)
    p.add_argument("--rho", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    p.add_argument("--compute-matched", action=argparse.BooleanOptionalAction, default=True,
                   help="also train the baseline for 2x epochs (SAST's gradient budget)")
    p.add_argument("--convex", action="store_true",
                   help="instead of a rho sweep: CVX vs SG vs SG-CVX vs SG fine-tuned from CVX (+ SAST, SAST-CVX on "
                        "event data) in one table")
    p.add_argument("--sast-rho", type=float, default=0.3, help="--convex on event data: SAST's rho")
    p.add_argument("--seeds", type=int, default=1,
                   help="run every configuration with seeds SEED … SEED+N−1; the table gives mean ± std, 95%% "
                        "intervals and paired differences from the baseline (--convex: mean ± std and 95%% "
                        "intervals of every method, sequence tasks)")
    p.add_argument("--variants", nargs="+", default=["sast"], choices=["sast", "sast-2batch", "asam", "sast-dual"],
                   help="SAST variants over the rho grid: same minibatch, an independent second minibatch for the "
                        "ascent, adaptive SAM, a loss over the surrogate and the hard forward pass (with its rho-0 "
                        "control)")
    p.add_argument("--sg", action="store_true", help="also conventional surrogate-gradient training (hard forward)")
    p.add_argument("--hardware", nargs="*", default=["int8", "int4"],
                   help="integer precisions to simulate for every run (none: skip)")
    p.add_argument("--extra-test", help="a second test set to report hard and INT8 accuracy on (e.g. nmnist: 1,000 "
                                        "synthetic digits beside the 100 real ones)")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: the tables and plot of the runs already in OUT (a sweep under way, so far)")
    p.add_argument("--out", default="runs/sweep")
    add_method_args(p)
    add_convex_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("overview", help="one figure over several sweeps: hard-spike accuracy per configuration, one "
                                        "panel per sweep.json")
    p.add_argument("sweeps", nargs="+", type=Path, help="sweep.json files, one panel each, in this order")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    p.set_defaults(func=cmd_overview)


def register_decision(sub) -> None:
    p = sub.add_parser("calibrate", help="refit a checkpoint's calibrated confidences and no-gesture floor on its "
                                         "own validation split, as training ends (rewrites model.json)")
    p.add_argument("checkpoint", help="OUT/model of a run trained with --validation")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("teach-bank", help="compute a model's feature bank beside it (MODEL.bank.npz): its classes as "
                                          "its INT8 hidden layers see them, which teaching keeps the old classes "
                                          "with; and fit the model's unfamiliar-scene check on the last layer's "
                                          "activity from it")
    p.add_argument("checkpoint", nargs="?", default=str(DEFAULT_MODEL / "model"),
                   help="a gesture model's checkpoint (default: the bundled gesture model)")
    p.add_argument("--dataset", help="the recordings to take the classes from (default: the model's own dataset)")
    p.add_argument("--data-dir", help="its folder, if not the default")
    p.add_argument("--check-only", action="store_true",
                   help="only fit the unfamiliar-scene check (and the gate), from the bank already beside the model "
                        "(seconds)")
    p.add_argument("--gate", type=float, metavar="SHARE",
                   help="also fit a no-gesture gate: logistic regression on the last layer's spikes per channel, no "
                        "gesture against every gesture, on the bank's training people; a gesture claim it finds "
                        "more likely to be no gesture than the limit that closes SHARE (e.g. 0.02) of the validation "
                        "people's gesture windows named right is answered no gesture. 0 removes it; without the "
                        "option a model's gate is refitted at its own share")
    p.add_argument("--gate-features", choices=list(GATE_FEATURES),
                   help="what the gate reads: the spikes per channel (channels), or those and the spikes per position, "
                        "sorted from the busiest (channels+cells: how spread the activity is, not where). Default: "
                        "the model's own gate's, else channels")
    p.add_argument("--gate-negatives", metavar="DATASET",
                   help="store this dataset's training people's no-gesture recordings (each also once moved) in the "
                        "bank's negatives part, which only the gate's fit reads (e.g. "
                        "gestures-v2:no_gesture+gestures-v3:no_gesture)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_teach_bank)

    p = sub.add_parser("forget", help="a taught model without one of its classes: that class's readout row and "
                                      "feature-bank recordings dropped, the readout of the rest refitted (seconds)")
    p.add_argument("checkpoint", help="the model (e.g. a taught one, OUT/model)")
    p.add_argument("name", help="the class to remove")
    p.add_argument("--out", required=True, help="output folder (model, its bank, firmware-int8)")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("choose-window", help="choose a gesture model's streaming window, taper and floor on the "
                                             "validation subjects' recordings (never the demo or the test subjects)")
    p.add_argument("checkpoint", nargs="?", default=str(DEFAULT_MODEL / "model"),
                   help="a gesture model's checkpoint (default: the bundled gesture model)")
    p.add_argument("--out", help="where to write the table (default: streaming-choice.json beside the checkpoint)")
    p.add_argument("--write", action="store_true", help="store the choice in the checkpoint's decision")
    p.set_defaults(func=cmd_choose_window)

    p = sub.add_parser("scenes", help="replay footage with no gesture in it (any event files, e.g. people walking, "
                                      "a hand near the lens) through the live app at INT8 and count the windows "
                                      "that name a gesture at >= 80 %% (issue 29's bar: at most 5 %%)")
    p.add_argument("footage", nargs="+", help="event files or folders of them (.raw .dat .aedat .aedat4 .npy .bin "
                                              ".bs2); none may hold a gesture")
    p.add_argument("--model", default=str(DEFAULT_MODEL / "model"),
                   help="a gesture model's checkpoint (default: the bundled gesture model)")
    p.add_argument("--fit", choices=["both", "pool", "crop"], default="both",
                   help="how a sensor larger than 128×128 is seen: pooled to fit, its centre 128×128 crop, or both "
                        "views, each counted (default both)")
    p.add_argument("--min-seconds", type=float, default=4.0,
                   help="a view shorter than this is looped to fill it, so every window is full of the scene "
                        "(default 4 s)")
    p.add_argument("--seed", type=int, default=0, help="the floor noise under a looped view")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit with status 3 when the bar is not met")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_scenes)
