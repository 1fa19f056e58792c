"""Training's subcommands: ``data synth``, ``train``, ``evaluate``, ``sweep``.

:func:`register` adds them to ``main.py``'s parser; torch and the trainers are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP
from firmware_sim.precisions import INTEGER

#: ``train``'s defaults for the options a fine-tuning on takes sets otherwise (training.finetune.FEW_SHOT); the
#: parser leaves them None so that cmd_train can tell an option the user gave from one they did not
TRAIN_DEFAULTS = {"epochs": 20, "lr": 2e-3, "method": "sast", "rho": 0.3, "rho_warmup": 0, "schedule": "constant",
                  "validation": 0.0, "augment": False, "onset": 0.0, "keep_old": 0, "freeze_features": False}


def add_training_args(p: argparse.ArgumentParser, unset: bool = False) -> None:
    """Options shared by ``train`` and ``sweep`` (``unset``: epochs and lr default to None, see TRAIN_DEFAULTS)."""
    p.add_argument("--dataset", default="nmnist-real",
                   help="nmnist | nmnist-real | gestures | dataset folder; train also: xor add2 add3 add5 smnist")
    p.add_argument("--data-dir", help="folder of the synthetic dataset (generated on first use)")
    p.add_argument("--epochs", type=int, default=None if unset else TRAIN_DEFAULTS["epochs"],
                   help=f"(default {TRAIN_DEFAULTS['epochs']}; fine-tuning on takes: 25)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--channels", type=int, nargs="+", metavar="C",
                   help="output channels of each convolutional layer (default: the network's own, N-MNIST 12 32, "
                        "gestures 16 32 64); e.g. --channels 24 48 for a wider N-MNIST network")
    p.add_argument("--lr", type=float, default=None if unset else TRAIN_DEFAULTS["lr"],
                   help=f"(default {TRAIN_DEFAULTS['lr']}; fine-tuning on takes: the same)")
    p.add_argument("--beta", type=float, help="sigmoid slope of the surrogate spike (default: the model's, 5)")
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
    g.add_argument("--l1", type=float, nargs="+", metavar="BETA",
                   help="the l1 weights of the path, rho = beta/sqrt(P) (default: beta_max × 0.3 0.1 0.03 0.01 0.003)")
    g.add_argument("--tol", type=float, default=1e-4, help="relative duality gap that ends a solve")
    g.add_argument("--max-iter", type=int, default=2000, help="proximal steps per beta")
    g.add_argument("--witness-rate", type=float, default=0.1, help="cvx: spike rate of each Gaussian layer")
    g.add_argument("--dictionary", choices=["hard", *INTEGER], default="hard",  # training.convex.dictionary's
                   help="event networks: the network that computes the spike dictionary (float hard spikes or "
                        "the integer simulator)")
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
    p.add_argument("--hard-loss", type=float, default=0.0,
                   help="weight w of the hard-spike forward pass in the loss: (1-w) CE(surrogate) + w CE(hard, "
                        "surrogate gradient); 0 = none")
    p.add_argument("--second-batch", action=argparse.BooleanOptionalAction, default=False,
                   help="stochastic SAST: descent gradient from an independent minibatch")


def train_config(args, **fields):
    """The TrainConfig fields every training command shares (see :func:`add_training_args`), plus ``fields``."""
    from training.train import TrainConfig

    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed, beta=args.beta, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, device=args.device, progress=not args.quiet,
                       channels=tuple(args.channels) if args.channels else None, **fields)


def recon_config(args, method: str):
    """The ReconConfig of ``train --method cvx|sg-cvx`` and ``sweep --convex`` (see :func:`add_convex_args`)."""
    from sast_live.errors import SastLiveError
    from training.convex.reconstruct import ReconConfig

    if args.beta is not None:
        raise SastLiveError("--beta is the sigmoid slope of gradient training; the convex path's l1 weights are --l1")
    return ReconConfig(dataset=args.dataset, data_dir=args.data_dir, method=method, witness_from=args.witness_from,
                       loss=args.loss, betas=tuple(args.l1 or ()), tol=args.tol, max_iter=args.max_iter,
                       witness_rate=args.witness_rate, dictionary=args.dictionary, features=args.features,
                       branches=args.branches, widths=tuple(args.widths), tau=args.tau, length=args.length,
                       n_train=args.n_train, n_test=args.n_test, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, finetune_epochs=args.finetune_epochs, lr=args.finetune_lr,
                       seed=args.seed, out=args.out, progress=not args.quiet)


def cmd_data_synth(args) -> int:
    from training.data.synth_cli import synth_dataset

    out = synth_dataset(args.dataset, args.out, n_per_class=args.n_per_class, seed=args.seed,
                        split=args.split, progress=not args.quiet, workers=args.workers)
    print(f"wrote {out}")
    return 0


def cmd_train(args) -> int:
    from sast_live.errors import SastLiveError
    from training.convex.tasks import is_task
    from training.finetune import check_takes, few_shot_fields, is_takes_folder

    finetune = bool(args.init_from) and is_takes_folder(args.dataset)
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS}
    if finetune:
        from training.finetune import old_classes_dataset

        check_takes(args.dataset)
        given = few_shot_fields(args.init_from, given)
        if args.keep_old_from is None:  # the base model's dataset, or a proportionate part of it generated now
            args.keep_old_from = old_classes_dataset(args.init_from, given["keep_old"], not args.quiet)
    for k, v in TRAIN_DEFAULTS.items():
        setattr(args, k, v if given.get(k) is None else given[k])
    if args.method in ("cvx", "sg-cvx"):
        from training.convex.reconstruct import reconstruct

        print(json.dumps(reconstruct(recon_config(args, args.method)), default=float))
    elif is_task(args.dataset):
        from training.convex.sequence import run_sequence_sg

        if args.method != "sg":
            raise SastLiveError(f"the sequence task {args.dataset!r} trains with --method sg, cvx or sg-cvx")
        print(json.dumps(run_sequence_sg(args.dataset, args.out, args.epochs, args.lr, args.length, args.branches,
                                         tuple(args.widths), args.tau, args.features, args.n_train, args.n_test,
                                         args.init_from, args.seed, not args.quiet)))
    else:
        from training.train import train

        print(json.dumps(train(train_config(args, method=args.method, rho=args.rho, adaptive=args.adaptive,
                                            second_batch=args.second_batch, out=args.out, resume=args.resume,
                                            init_from=args.init_from, augment=args.augment,
                                            validation=args.validation, schedule=args.schedule,
                                            rho_warmup=args.rho_warmup, onset=args.onset,
                                            keep_old=args.keep_old, keep_old_from=args.keep_old_from,
                                            freeze_features=args.freeze_features, hard_loss=args.hard_loss))))
        if finetune:
            from training.finetune import render, report

            print(render(report(args.out, args.init_from, args.dataset, not args.quiet, args.keep_old_from)))
    return 0


def cmd_evaluate(args) -> int:
    from sast_live.transforms.corruptions import CORRUPTIONS
    from training.evaluate import evaluate_many, summary

    reports = evaluate_many(args.checkpoint, args.out, dataset=args.dataset, data_dir=args.data_dir,
                            corruptions=tuple(args.only or CORRUPTIONS) if args.corruptions else (),
                            severities=tuple(args.severities), limit_test=args.limit_test, seed=args.seed,
                            progress=not args.quiet, hardware=tuple(args.hardware or ()),
                            pj_per_synop=args.pj_per_synop, live=args.live)
    for report in reports:
        print(json.dumps(summary(report)))
    if args.table:
        from pathlib import Path

        from training.hardware_eval import render_comparison

        Path(args.table).write_text(render_comparison(reports))
        print(f"wrote {args.table}", file=sys.stderr)
    return 0


def cmd_sweep(args) -> int:
    if args.convex:
        from training.convex.compare import compare

        print(compare(recon_config(args, "cvx"), args.epochs, args.lr, args.sast_rho, args.out))
        return 0
    from training.sweep import run_sweep

    result = run_sweep(train_config(args), args.rho, args.out, compute_matched=args.compute_matched,
                       seeds=args.seeds, variants=tuple(args.variants), sg=args.sg, hardware=tuple(args.hardware),
                       extra_test=args.extra_test, report_only=args.report_only)
    print((Path(args.out) / "sweep.md").read_text())
    print(f"wrote {Path(args.out) / 'sweep.json'}, sweep.md and sweep.png", file=sys.stderr)
    return 0 if result["runs"] else 1


def register(sub) -> None:
    """Add this package's subcommands to ``main.py``'s subparsers."""
    p = sub.add_parser("data", help="datasets")
    data_sub = p.add_subparsers(title="data commands", metavar="ACTION", required=True)
    s = data_sub.add_parser("synth", help="generate synthetic N-MNIST or DVS-Gesture-like datasets")
    s.add_argument("--dataset", choices=["nmnist", "gestures", "gestures-v2"], required=True,  # synth_cli.GENERATORS
                   help="nmnist: real MNIST digits in saccades; gestures: outline figures; gestures-v2: filled people "
                        "from 29 subjects (23 train / 6 test) under natural, fluorescent and LED light")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--n-per-class", type=int, default=100, help="samples per class and split (default 100)")
    s.add_argument("--split", choices=["train", "test", "both"], default="both")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=1, help="processes generating samples in parallel")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_data_synth)

    p = sub.add_parser("train", help="train a spiking network: SAST (surrogate forward + SAM), a baseline, or the "
                                     "convex reconstruction; with --init-from and a folder of takes: fine-tune")
    add_training_args(p, unset=True)
    p.add_argument("--method", choices=["sast", "surrogate", "sg", "cvx", "sg-cvx"], default=None,
                   help="sast | surrogate | sg (gradient training) | cvx | sg-cvx (convex readout reconstruction) "
                        "(default sast)")
    p.add_argument("--rho", type=float, default=None, help="SAM neighbourhood radius (sast; default 0.3, "
                                                           "fine-tuning: the base model's)")
    p.add_argument("--init-from", metavar="CKPT", help="start from this checkpoint's network and weights "
                   "(e.g. --method sg --init-from runs/cvx/model: SG fine-tuning of a reconstruction). With "
                   "--dataset a folder of takes (`record --label --dataset`): fine-tuning, new classes included, "
                   "with few-shot defaults, then INT8 figures on the held-out takes and the old classes")
    p.add_argument("--keep-old", type=int, default=None, metavar="N",
                   help="fine-tuning: mix in N training recordings per class of the base model's own dataset, so "
                        "the old classes are not forgotten (default 0; on takes: 30)")
    p.add_argument("--freeze-features", action=argparse.BooleanOptionalAction, default=None,
                   help="train the readout only; the convolutional layers keep their weights (default off)")
    p.add_argument("--keep-old-from", metavar="DATASET",
                   help="fine-tuning: take those recordings (and, on takes, measure the old classes) from this "
                        "dataset instead of the base model's own")
    add_convex_args(p)
    p.add_argument("--out", default="runs/train", help="output folder (metrics.jsonl, last.*, model.*)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=False,
                   help="continue from OUT/last after an interruption")
    p.add_argument("--rho-warmup", type=int, default=None, metavar="EPOCHS",
                   help="SAST: rho grows linearly from 0 to --rho over this many epochs (plain descent in the first)")
    p.add_argument("--schedule", choices=["constant", "cosine"], default=None,
                   help="learning rate over the epochs (cosine: from --lr down to 0 at the last epoch)")
    p.add_argument("--validation", type=float, default=None, metavar="FRACTION",
                   help="hold out this fraction of the training subjects (or samples) to calibrate the confidences "
                        "and choose the no-gesture threshold (stored in model.json as 'decision')")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="augment training windows: shift, event drop, background noise, hot pixels")
    p.add_argument("--onset", type=float, default=None, metavar="FRACTION",
                   help="half of the training windows start with up to this fraction of empty bins, as a gesture "
                        "that began part-way into the window (shorter latency when streaming; e.g. 0.6)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="report of a checkpoint: swap-only hard-spike transfer, robustness, "
                                        "calibration, SynOps")
    p.add_argument("checkpoint", nargs="+", help="OUT/model of a training run (the .json/.safetensors pair); "
                   "several give one report each and, with --table, a side-by-side table")
    p.add_argument("--dataset", help="default: the one the checkpoint was trained on (only its test split is read)")
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
                   help=f"also run the integer on-sensor simulator at these precisions: {' '.join(INTEGER)}")
    p.add_argument("--pj-per-synop", type=float, default=DEFAULT_PJ_PER_SYNOP,
                   help=f"energy per synaptic operation for the estimate (default {DEFAULT_PJ_PER_SYNOP} pJ, Loihi)")
    p.add_argument("--table", help="write a markdown table comparing the checkpoints (float vs integer)")
    p.add_argument("--live", action="store_true",
                   help="also run the live app's streaming pipeline (INT8, a prediction every 250 ms): scored on the "
                        "bundled demo, and on scenes with no gesture (silence, noise, hot pixels, real recordings "
                        "of cars, pedestrians, sparklers)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_evaluate)

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
                        "intervals and paired differences from the baseline")
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
    add_convex_args(p)
    p.set_defaults(func=cmd_sweep)
