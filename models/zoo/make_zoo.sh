#!/usr/bin/env bash
# Re-creates the shipped checkpoints and their evaluation reports (run from the repository root, in the venv).
# Each model: train into models/zoo/NAME, evaluate into models/zoo/NAME/eval, keep model.* + metrics.jsonl.
# EVAL_ONLY=1 keeps the checkpoints and only re-runs the evaluations.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HW="--hardware int8 int4 wide"
train_and_eval () {
    name=$1; eval_args=$2; shift 2
    if [ -z "${EVAL_ONLY:-}" ]; then
        rm -rf "models/zoo/$name"
        $PY main.py train "$@" --out "models/zoo/$name" --quiet
        rm -f "models/zoo/$name"/last.safetensors "models/zoo/$name"/last.json   # resume state, not needed
    fi
    # shellcheck disable=SC2086
    $PY main.py evaluate "models/zoo/$name/model" --out "models/zoo/$name/eval" --quiet $HW $eval_args
}
# gestures: the corruption sweep runs on 110 of the 440 test gestures (10 per class) to keep it to minutes
train_and_eval nmnist-real-baseline "" --dataset nmnist-real --method surrogate --epochs 15
train_and_eval nmnist-real-sast     "" --dataset nmnist-real --method sast --rho 0.1 --epochs 15
train_and_eval gestures-baseline    "--limit-test 110" --dataset gestures --method surrogate --epochs 20
train_and_eval gestures-sast        "--limit-test 110" --dataset gestures --method sast --rho 0.1 --epochs 20
# paper (b)'s table: float vs integer, baseline vs SAST (full test sets, no corruptions)
mkdir -p models/zoo/hardware/nmnist-real models/zoo/hardware/gestures
for ds in nmnist-real gestures; do
    $PY main.py evaluate "models/zoo/$ds-baseline/model" "models/zoo/$ds-sast/model" --no-corruptions $HW \
        --out "models/zoo/hardware/$ds" --table "models/zoo/hardware/$ds/table.md" --quiet
done
