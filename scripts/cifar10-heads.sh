#!/usr/bin/env bash
# Trains the VGG-like network (width 0.25) on CIFAR-10 with the softmax head and
# with L-GM, same seed and epochs, one thread each side by side, and prints test
# error and seconds per epoch for both: the CIFAR issue's comparison.
#
# By default a short schedule derived from the shipped configs (6 epochs, lr ×0.1
# after epochs 4 and 5, L-GM's warm-up over 3 epochs instead of 5), about an hour
# on 2 cores; --full runs the shipped 30-epoch configs unchanged (about 3.5 hours;
# rerun the same command to resume after an interruption).
#
# Usage: scripts/cifar10-heads.sh [--full] [--seed S] [--lgm cifar10-lgm-a0.1] [--data PATH] [WORK_DIR]
# PATH is any --data that `lgm train` accepts: the folder `lgm data download
# cifar10 --dir data/cifar10` fills (the default, relative to the repository),
# or a folder or .tar.gz of train/ and test/ image folders (read as --dataset folder).
set -uo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
cd "$(dirname "$0")/.."
full=0 seed=1 lgm=cifar10-lgm-a0.1 data=data/cifar10 work=""
while [ $# -gt 0 ]; do
  case $1 in
    --full) full=1; shift ;;
    --seed) seed=$2; shift 2 ;;
    --lgm) lgm=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "cifar10-heads.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$work" ] || { echo "cifar10-heads.sh: one WORK_DIR only (got $work and $1)" >&2; usage >&2; exit 2; }
       work=$1; shift ;;
  esac
done
[ -e "$data" ] || { echo "cifar10-heads.sh: no data at $data: run \`go run ./cmd/lgm data download cifar10 --dir $data\` or give --data PATH" >&2; exit 2; }
dataset=folder
[ -d "$data" ] && [ -e "$data/data_batch_1.bin" -o -d "$data/cifar-10-batches-bin" ] && dataset=cifar10
work=${work:-$(mktemp -d /tmp/lgm-cifar10.XXXXXX)}
mkdir -p "$work"
go build -o "$work/lgm" ./cmd/lgm || exit 1

for c in cifar10-softmax "$lgm"; do
  cfg=configs/$c.yaml
  if [ $full = 0 ]; then # the short schedule: same file, three settings changed
    python3 - "$cfg" "$work/$c-short.yaml" <<'PY' || exit 1
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r"(?m)^  epochs: 30$", "  epochs: 6", s)
s = re.sub(r"(?m)^  lr_milestones: \[15, 25\]$", "  lr_milestones: [4, 5]", s)
s = re.sub(r"(?m)^    epochs: 5$", "    epochs: 3", s)  # warm-up of α and λ
assert "epochs: 6" in s and "[4, 5]" in s, "unexpected config layout"
open(sys.argv[2], "w").write(s)
PY
    cfg=$work/$c-short.yaml
  fi
  run=$work/$c
  if [ -f "$run/checkpoint.safetensors" ]; then
    "$work/lgm" train --resume "$run" --threads 1 >>"$run.log" 2>&1 &
  else
    rm -rf "$run"
    "$work/lgm" train --config "$cfg" --dataset $dataset --data "$data" --seed "$seed" --threads 1 --out "$run" >"$run.log" 2>&1 &
  fi
done
wait
python3 - "$work/cifar10-softmax" "$work/$lgm" <<'PY'
import json, os, sys
print("| head | epoch | lr | train error | test error | seconds (train + eval) |")
print("|---|---|---|---|---|---|")
for run in sys.argv[1:]:
    f = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(f):
        print("| %s | no metrics (see %s.log) | | | | |" % (os.path.basename(run), run)); continue
    for l in open(f):
        m = json.loads(l)
        print("| %s | %d | %g | %.2f%% | %.2f%% | %.0f |" % (os.path.basename(run), m["epoch"], m["lr"],
              100 * m["train_error"], 100 * m["test_error"], m["seconds"]))
PY
echo
"$work/lgm" compare --markdown "$work/cifar10-softmax" "$work/$lgm"
