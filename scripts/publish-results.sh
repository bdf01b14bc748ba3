#!/usr/bin/env bash
# Writes the published form of a finished sweep into a folder of the
# repository (docs/results/NAME): lgm report of the sweep's run directories
# (report.md and its PNG pictures; the self-contained report.html is not kept,
# it repeats the pictures), a screenshot of report.html in headless Chromium
# (report.png), lgm compare of the runs (compare.md, with every epoch's test
# error in compare-per-epoch.md), each run's attack results as JSON, and
# machine.md: the CPU, the lgm revision, the sweep file and the wall time of
# every run and the builds that trained it, as its metrics.jsonl recorded them;
# and runs/NAME/ with each run's config.yaml and metrics.jsonl (and eval.json),
# from which lgm report and lgm compare can be drawn again. Runs published
# into OUT_DIR before whose run directories are not here (a sweep finished
# over several machines) are kept, from their copies in OUT_DIR/runs.
#
# Usage: scripts/publish-results.sh SWEEP_FILE RUNS_DIR OUT_DIR
#   e.g. scripts/publish-results.sh sweeps/mnist-table6.yaml /work/runs/mnist/runs docs/results/mnist-table6
# RUNS_DIR is the sweep's --out. Needs lgm (built here from this checkout) and
# chromium for the screenshot (skipped with a message when it is missing).
set -euo pipefail
self=$(realpath "$0")
usage() { sed -n 's/^# Usage: /usage: /p' "$self"; }
for a in "$@"; do
  case $a in
    -h|--help) usage; exit 0 ;;
    -*) echo "publish-results.sh: unknown argument $a" >&2; usage >&2; exit 2 ;;
  esac
done
[ $# -eq 3 ] || { echo "publish-results.sh: want 3 arguments, got $#" >&2; usage >&2; exit 2; }
sweep=$(realpath "$1") runs=$(realpath "$2") out=$3
[ -f "$sweep" ] || { echo "publish-results.sh: no sweep file $1" >&2; exit 2; }
[ -d "$runs" ] || { echo "publish-results.sh: no run folder $2 (the sweep's --out)" >&2; exit 2; }
cd "$(dirname "$self")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/bin/lgm
go build -o "$bin" ./cmd/lgm
mkdir -p "$out"
out=$(realpath "$out")

# The runs of the sweep, in the sweep's order, that have finished (the sweep's
# own dry run says which: "done"): each one's config.yaml, metrics.jsonl and
# eval.json (if one was written with lgm eval --json > eval.json) are copied to
# OUT_DIR/runs/NAME, so that lgm report and lgm compare can be run again from
# the repository alone; the report below reads the run directory itself (its
# checkpoint gives the calibration, its attack files the attack tables). A run
# published before whose run directory is gone or not finished here (a sweep
# finished over several machines) is drawn from its copy in OUT_DIR/runs
# and its attack summaries OUT_DIR/NAME-attack-*.json (no checkpoint: no
# calibration rows, no attack score curves) and named; the
# others are left out and named. The report and the comparisons see each run
# by its name alone (a link in a scratch folder), not by the path it has here.
mkdir -p "$tmp/runs"
dirs=()
while read -r name state; do
  pub=$out/runs/$name
  if [ "$state" = done ]; then
    mkdir -p "$pub"
    rm -f "$pub/eval.json"
    for f in config.yaml metrics.jsonl eval.json; do
      [ -f "$runs/$name/$f" ] && cp "$runs/$name/$f" "$pub/$f"
    done
    for a in "$runs/$name"/attack-*.json; do [ -f "$a" ] && cp "$a" "$out/$name-$(basename "$a")"; done
    ln -s "$runs/$name" "$tmp/runs/$name" # the run itself: its checkpoint and attack files feed the report
    dirs+=("$name")
  elif [ -f "$pub/metrics.jsonl" ]; then
    echo "publish-results.sh: $name is $state here: kept as published before ($pub)" >&2
    mkdir "$tmp/runs/$name" # its published files, and its published attack summaries under their run-directory names
    for f in "$pub"/*; do ln -s "$f" "$tmp/runs/$name/"; done
    for a in "$out/$name"-attack-*.json; do [ -f "$a" ] && ln -s "$a" "$tmp/runs/$name/${a#"$out/$name-"}"; done
    dirs+=("$name")
  else
    echo "publish-results.sh: $name is $state: left out" >&2
  fi
done < <("$bin" sweep "$sweep" --dry-run --out "$runs" | awk '/^[^ ]/ && $2 ~ /^(done|new|resume|restart|running-elsewhere)$/ {print $1, $2}')
[ ${#dirs[@]} -gt 0 ] || { echo "publish-results.sh: no finished or published runs for $runs" >&2; exit 1; }

(
  cd "$tmp/runs"
  "$bin" report "${dirs[@]}" --out "$tmp/report" --title "$(basename "$out")"
  "$bin" compare "${dirs[@]}" --markdown >"$out/compare.md"
  "$bin" compare "${dirs[@]}" --per-epoch --markdown >"$out/compare-per-epoch.md"
)
cp "$tmp"/report/*.md "$tmp"/report/*.png "$out"/

if command -v chromium >/dev/null 2>&1; then
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$tmp/profile" --hide-scrollbars \
    --window-size=1300,3000 --screenshot="$out/report.png" "file://$tmp/report/report.html" 2>/dev/null
else
  echo "publish-results.sh: chromium is not installed (apt-get install chromium): no screenshot" >&2
fi

{
  echo "# Machine and runs"
  echo
  echo "- CPU that drew this report: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores (the CPUs that trained each run are in the table, where its metrics.jsonl recorded them)"
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  # Only changes to what goes into the binary make it another build: Go
  # sources, assembly, go.mod and go.sum (not docs, nor what this writes).
  [ -z "$(git status --porcelain -- '*.go' '*.s' go.mod go.sum 2>/dev/null)" ] || rev="$rev (with uncommitted changes to its sources)"
  echo "- lgm: this report drawn by a build of revision $rev of this repository (the runs were trained by whichever build ran the sweep), $(go version | cut -d' ' -f3)"
  echo "- sweep file: \`$1\`"
  echo "- published: $(date -u +%Y-%m-%d)"
  echo
  echo "| run | epochs | wall time (train + eval, h) | builds that trained it (metrics.jsonl; \`lgm version\` prints a binary's) | CPUs that trained it |"
  echo "|---|---|---|---|---|"
  for d in "${dirs[@]}"; do
    python3 - "$tmp/runs/$d" <<'PY'
import json, os, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
def spans(key):  # "v (epochs lo–hi), ..." for each stretch of epochs with one value
    out = []
    for r in rows:
        v = r.get(key) or "not recorded"
        if not out or out[-1][0] != v:
            out.append([v, r["epoch"], r["epoch"]])
        else:
            out[-1][2] = r["epoch"]
    return ", ".join(f"{v} (epoch {lo})" if lo == hi else f"{v} (epochs {lo}–{hi})" for v, lo, hi in out)
print(f"| {os.path.basename(d)} | {len(rows)} | {sum(r.get('seconds', 0) for r in rows) / 3600:.1f} | {spans('build')} | {spans('cpu')} |")
PY
  done
} >"$out/machine.md"
echo "wrote $out"
