#!/usr/bin/env bash
# ship.sh TRAIN_OUT TASK_DIR: install a train.py output as the project's built-in model.
#   TRAIN_OUT/{config.json,generation_config.json,model.safetensors,tokenizer*.json} -> configs/models/modchain-tiny/
#   TRAIN_OUT/golden.safetensors (train.py --golden) -> tests/fixtures/zaya/modchain-tiny/, with links to
#       the model's config.json and model.safetensors, so test_engine_fidelity checks the shipped model
#   TASK_DIR/test.jsonl (make_task.py) -> bench/data/modchain-test.jsonl (the quickstart dataset)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT=${1:?usage: ship.sh TRAIN_OUT TASK_DIR}
TASK=${2:?usage: ship.sh TRAIN_OUT TASK_DIR}
M=$ROOT/configs/models/modchain-tiny
F=$ROOT/tests/fixtures/zaya/modchain-tiny
mkdir -p "$M" "$F"
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
    cp "$OUT/$f" "$M/$f"
done
cp "$OUT/golden.safetensors" "$F/golden.safetensors"
ln -sfn ../../../../configs/models/modchain-tiny/config.json "$F/config.json"
ln -sfn ../../../../configs/models/modchain-tiny/model.safetensors "$F/model.safetensors"
cp "$TASK/test.jsonl" "$ROOT/bench/data/modchain-test.jsonl"
ls -l "$M" "$F" "$ROOT/bench/data/modchain-test.jsonl"
