#!/usr/bin/env bash
# Interrupts a real MNIST training run with Ctrl-C (SIGINT), resumes it, and
# compares it with the same run left alone: metrics (timing fields aside) and
# the features of every test image must be identical. Then kills a run with
# SIGKILL at several moments and checks each time that its checkpoint still
# evaluates and the run resumes.
#
# Usage: scripts/interrupt-resume.sh [WORK_DIR] [extra lgm train flags...]
# Default run: LeNet, 2 epochs of 300 batches of 64 (a few minutes on 2 cores).
set -uo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  -*) echo "interrupt-resume.sh: unknown argument $1 (WORK_DIR comes first; lgm train flags follow it)" >&2; usage >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/lgm-resume.XXXXXX)}
shift || true
extra=("$@")
mkdir -p "$work"
go build -o "$work/lgm" ./cmd/lgm || exit 1
lgm="$work/lgm"
train=(train --config configs/mnist-softmax.yaml --net lenet --epochs 2 --limit 300 "${extra[@]}")

strip='import json,sys
for l in open(sys.argv[1]):
    m=json.loads(l)
    for k in ("img_s","eval_img_s","seconds"): m.pop(k,None)
    print(json.dumps(m,sort_keys=True))'

echo "== the run left alone"
"$lgm" "${train[@]}" --out "$work/whole" | grep -v '^run directory' || exit 1

echo "== the same run, interrupted with SIGINT 3 s into its second epoch, then resumed"
"$lgm" "${train[@]}" --out "$work/broken" >"$work/broken.log" 2>&1 &
pid=$!
# the end-of-epoch line (not a progress line: those have "batch" after the epoch)
until grep -q '^epoch 1/[0-9]*  lr ' "$work/broken.log" 2>/dev/null; do sleep 0.2; done
sleep 3
kill -INT $pid
wait $pid
echo "exit code $? (130 expected)"
grep -v '^run directory' "$work/broken.log"
"$lgm" train --resume "$work/broken" || exit 1

echo "== comparison"
if diff <(python3 -c "$strip" "$work/whole/metrics.jsonl") <(python3 -c "$strip" "$work/broken/metrics.jsonl") >/dev/null; then
  echo "metrics.jsonl: identical apart from timing fields"
else
  echo "metrics.jsonl: DIFFERENT"
fi
"$lgm" embed "$work/whole" --out "$work/whole.csv" >/dev/null
"$lgm" embed "$work/broken" --out "$work/broken.csv" >/dev/null
if cmp -s "$work/whole.csv" "$work/broken.csv"; then
  echo "features of all test images: byte-identical ($(($(wc -l <"$work/whole.csv") - 1)) rows)"
else
  echo "features: DIFFERENT"
fi

echo "== SIGKILL at several moments"
run="$work/killed"
"$lgm" "${train[@]}" --epochs 1000 --out "$run" >/dev/null &
pid=$!
for delay in 25 9 13 6 17 4 11; do
  sleep "$delay"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
  if [ -f "$run/checkpoint.safetensors" ]; then
    printf 'killed after %2s s: ' "$delay"
    "$lgm" eval "$run" || echo "CHECKPOINT DOES NOT LOAD"
  else
    echo "killed after $delay s: no checkpoint yet (no epoch finished)"
  fi
  "$lgm" train --resume "$run" >/dev/null 2>&1 &
  pid=$!
done
kill -KILL $pid 2>/dev/null
echo "work directory: $work"
