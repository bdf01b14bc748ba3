#!/usr/bin/env bash
# Trains LeNet++ on full MNIST with every head's shipped config, at D = 2
# (configs/mnist2d-*.yaml) and D = 100 (configs/mnist-*.yaml), with one seed
# and one number of epochs, and prints the table the heads issue asks for:
# test error per head and feature size, with seed, epochs and wall time.
# Runs that diverge are reported as such (lgm stops them cleanly). Runs already
# in WORK_DIR are resumed (or just reported when they have all their epochs), so
# an interrupted invocation, or a later one with more --epochs, continues them.
#
# Usage: scripts/heads-mnist.sh [--epochs N] [--seed S] [--threads T] [--dims "2 100"] [--heads "softmax center lsoftmax gm lgm"] [WORK_DIR]
# Two instances with --threads 1 and different --dims/--heads (and WORK_DIRs) use
# 2 cores better than one instance with 2 threads.
# One LeNet++ epoch (batch 64) took 6–8 minutes per instance with two one-thread instances
# side by side on 2 cores: 10 runs of 3 epochs take about 2 hours that way.
set -uo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
cd "$(dirname "$0")/.."
epochs=5 seed=1 threads=$(nproc) dims="2 100" heads="softmax center lsoftmax gm lgm" work=""
while [ $# -gt 0 ]; do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --dims) dims=$2; shift 2 ;;
    --heads) heads=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "heads-mnist.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$work" ] || { echo "heads-mnist.sh: one WORK_DIR only (got $work and $1)" >&2; usage >&2; exit 2; }
       work=$1; shift ;;
  esac
done
work=${work:-$(mktemp -d /tmp/lgm-heads.XXXXXX)}
mkdir -p "$work"
go build -o "$work/lgm" ./cmd/lgm || exit 1
table="$work/table.md"
echo "| head | D | seed | epochs | test error | after each epoch (%) | time (train + eval) | note |" >"$table"
echo "|---|---|---|---|---|---|---|---|" >>"$table"
# epochs_done RUN prints how many epochs RUN's metrics.jsonl holds (0 if none).
epochs_done() { if [ -f "$1/metrics.jsonl" ]; then grep -c . "$1/metrics.jsonl"; else echo 0; fi; }
for d in $dims; do
  for h in $heads; do
    cfg=configs/mnist-$h.yaml
    [ "$d" = 2 ] && cfg=configs/mnist2d-$h.yaml
    run="$work/$h-d$d"
    rc=0
    # A run left by an earlier, interrupted invocation is resumed, not restarted.
    if [ -f "$run/checkpoint.safetensors" ]; then
      if [ "$(epochs_done "$run")" -lt "$epochs" ]; then
        "$work/lgm" train --resume "$run" --epochs "$epochs" --threads "$threads" >>"$run.log" 2>&1
        rc=$?
      fi
    else
      rm -rf "$run"
      "$work/lgm" train --config "$cfg" --epochs "$epochs" --seed "$seed" --threads "$threads" --out "$run" >"$run.log" 2>&1
      rc=$?
    fi
    # The error after the last epoch trained, and the time spent training and
    # evaluating (summed over epochs, so resumed runs count only their work).
    read -r err each secs < <(python3 - "$run/metrics.jsonl" <<'PY' 2>/dev/null || echo "- - 0"
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
print("%.2f%%_(epoch_%d)" % (100 * m[-1]["test_error"], m[-1]["epoch"]) if m else "-",
      "_/_".join("%.2f" % (100 * x["test_error"]) for x in m) or "-", int(sum(x["seconds"] for x in m)))
PY
)
    note=""
    [ $rc -ne 0 ] && note=$(tail -1 "$run.log" | cut -c1-160)
    printf '| %s | %s | %s | %s | %s | %s | %dm%02ds | %s |\n' "$h" "$d" "$seed" "$(epochs_done "$run")" "${err//_/ }" "${each//_/ }" $((secs / 60)) $((secs % 60)) "$note" | tee -a "$table"
  done
done
echo "table: $table"
