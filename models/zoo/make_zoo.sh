#!/usr/bin/env bash
# Re-creates the shipped checkpoints and their evaluation reports (run from the repository root, in the venv).
# Each model: train into models/zoo/NAME, evaluate into models/zoo/NAME/eval, keep model.* + metrics.jsonl.
set -euo pipefail
PY=${PY:-.venv/bin/python}
train_and_eval () {
    name=$1; eval_args=$2; shift 2
    rm -rf "models/zoo/$name"
    $PY main.py train "$@" --out "models/zoo/$name" --quiet
    # shellcheck disable=SC2086
    $PY main.py evaluate "models/zoo/$name/model" --out "models/zoo/$name/eval" --quiet $eval_args
    rm -f "models/zoo/$name"/last.safetensors "models/zoo/$name"/last.json   # resume state, not needed
}
# gestures: the corruption sweep runs on 110 of the 440 test gestures (10 per class) to keep it to minutes
train_and_eval nmnist-real-baseline "" --dataset nmnist-real --method surrogate --epochs 15
train_and_eval nmnist-real-sast     "" --dataset nmnist-real --method sast --rho 0.1 --epochs 15
train_and_eval gestures-baseline    "--limit-test 110" --dataset gestures --method surrogate --epochs 20
train_and_eval gestures-sast        "--limit-test 110" --dataset gestures --method sast --rho 0.1 --epochs 20
