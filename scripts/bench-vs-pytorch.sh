#!/usr/bin/env bash
# Training and evaluation throughput and peak memory of lgm against PyTorch on
# the same network, batch, synthetic input and thread count, alternating the
# two for several rounds at 1 and 2 threads, and the ratios lgm/PyTorch of
# the medians.
#
# Usage: scripts/bench-vs-pytorch.sh [--net lenetpp|lenet|vgg|resnet20] [--width W] [--dim D] [--batch 128] [--steps 10] [--rounds 3] [--precision fp32|bf16]
# --precision bf16 runs lgm with bfloat16 convolution products (lgm bench --precision bf16)
# and PyTorch both in fp32 and under bf16 autocast (torch.cpu.amp.autocast, oneDNN's
# bfloat16), and gives lgm's ratio to each; it needs a CPU with AVX512_BF16.
# --width is the width multiplier of vgg (default 0.25, as the shipped CIFAR configs) and
# resnet20 (default 1, the paper's 16/32/64 channels). D defaults to 2 for lenet and
# lenetpp and to the last width for vgg (96 at width 0.25) and resnet20 (64 at width 1),
# the pooled feature without an FC layer.
# Needs Debian's python3-torch (installed here if missing, as root).
set -euo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
cd "$(dirname "$0")/.."
net=lenetpp width="" dim="" batch=128 steps=10 rounds=3 precision=fp32
while [ $# -gt 0 ]; do
  case $1 in
    --net) net=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --dim) dim=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-vs-pytorch.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $precision in # PyTorch's peers: fp32, and for bf16 its bf16 autocast too
  fp32) autocasts=none ;;
  bf16) autocasts="none bf16" ;;
  *) echo "bench-vs-pytorch.sh: --precision must be fp32 or bf16 (got $precision)" >&2; exit 2 ;;
esac
if [ -z "$width" ]; then
  width=0.25
  [ "$net" = resnet20 ] && width=1
fi
if [ -z "$dim" ]; then
  dim=2
  [ "$net" = vgg ] && dim=$(python3 -c "print(max(1, int($width * 384 + 0.5)))")
  [ "$net" = resnet20 ] && dim=$(python3 -c "print(4 * max(1, int($width * 16 + 0.5)))")
fi
py=/usr/bin/python3 # Debian's torch is installed for the system interpreter
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "installing python3-torch (Debian) ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
bin=$(mktemp -d)/lgm
go build -o "$bin" ./cmd/lgm
results=$(mktemp)
for threads in 1 2; do
  for r in $(seq "$rounds"); do
    for autocast in $autocasts; do
      who=pytorch
      [ "$autocast" = none ] || who=pytorch-$autocast
      OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OPENBLAS_CORETYPE=SkylakeX \
        "$py" scripts/bench_pytorch.py --net "$net" --width "$width" --dim "$dim" --batch "$batch" --steps "$steps" --threads "$threads" --autocast "$autocast" |
        sed "s/^/$who $threads /" >>"$results"
    done
    "$bin" bench --net "$net" --width "$width" --dim "$dim" --batch "$batch" --steps "$steps" --threads "$threads" --precision "$precision" --json |
      sed "s/^/lgm $threads /" >>"$results"
  done
done
label="$net, D = $dim"
[ "$net" = vgg ] || [ "$net" = resnet20 ] && label="$net width $width, D = $dim"
label="$label, lgm $precision"
"$py" - "$results" "$label" "$batch" "$rounds" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, threads, js = line.split(" ", 2)
    rows.setdefault((who, int(threads)), []).append(json.loads(js))
print(f"{sys.argv[2]}, batch {sys.argv[3]}, median of {sys.argv[4]} alternating rounds")
cpu = next((rs[0].get("cpu") for (who, _), rs in rows.items() if who == "lgm"), None)
if cpu:  # as lgm sees it: the model, its family and model numbers, the kernels lgm chose
    print(f"CPU: {cpu['model']}" + (f" ({cpu['id']})" if cpu.get("id") else "") + f", lgm kernels: {' '.join(cpu['features']) or 'portable Go'}")
print(f"{'threads':>7} {'who':>12} {'train img/s':>12} {'eval img/s':>11} {'peak MB':>8}")
med = {}
for (who, t), rs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    m = {k: statistics.median(r[k] for r in rs) for k in ("train_img_s", "eval_img_s", "peak_rss_mb")}
    med[(who, t)] = m
    print(f"{t:>7} {who:>12} {m['train_img_s']:>12.1f} {m['eval_img_s']:>11.1f} {m['peak_rss_mb']:>8.0f}")
for t in (1, 2):
    for peer, name in (("pytorch", "PyTorch"), ("pytorch-bf16", "PyTorch bf16 autocast")):
        l, p = med.get(("lgm", t)), med.get((peer, t))
        if l and p:
            print(f"ratio lgm/{name} at {t} thread(s): train {l['train_img_s']/p['train_img_s']:.2f}x, "
                  f"eval {l['eval_img_s']/p['eval_img_s']:.2f}x, peak memory {l['peak_rss_mb']/p['peak_rss_mb']:.2f}x")
PY
