#!/usr/bin/env bash
# Tests lgm sweep --emit slurm against a real one-node Slurm on this machine.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/slurm-test.sh [--lgm PATH] [--timeout SECONDS] [--keep]

Tests `lgm sweep --emit slurm` against a real Slurm cluster of one node, this
machine. As root it:
  1. installs Debian's slurm-wlm and munge (apt-get update first),
  2. starts munged with a fresh key, and slurmctld and slurmd with a generated
     slurm.conf (NodeName=localhost with this machine's CPUs and memory,
     proctrack/linuxproc, task/none, no cgroups; every file in a temporary folder,
     nothing in /etc changed; ports 16817 and 16818),
  3. writes a sweep of 4 tiny LeNet runs (mnist-softmax and mnist-lgm × seeds 1 and
     2, 5 batches, 1 epoch), emits it with --threads-per-job 1 and submits the two
     scripts as lgm prints them (the array, then the after job with afterok),
  4. waits for both jobs (squeue, up to --timeout), and checks that every task and
     the after job completed, the 4 run directories finished, and the after step
     wrote compare.txt with the 4 runs (plus attack-fgsm.json per run and the report
     where this lgm has attack and report commands),
  5. submits the array again: every task must find its run finished and do nothing,
  6. stops the daemons it started (also on failure or Ctrl-C) and removes the folder.

It is not part of go test. Measured here (2 cores shared with other work, packages
installed): 38 to 47 s with an lgm without attack and report commands (the after step is
then only compare.txt), 149 s with lgm attack (FGSM on the 10,000 test images of each
run). The first run also installs the packages: that run took 73 s in all here.
MNIST comes from the GoMNIST module, as for lgm train.

options:
  --lgm PATH         the lgm binary to test (default: build this repository's)
  --timeout SECONDS  how long to wait for the jobs (default 600)
  --keep             keep the temporary folder (logs, scripts, run directories)
  -h, --help         this text
EOF
}

lgm= timeout=600 keep=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--lgm) [ $# -ge 2 ] || { echo "slurm-test.sh: --lgm needs a PATH" >&2; exit 2; }; lgm=$2; shift 2 ;;
	--timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "slurm-test.sh: --timeout needs a number of seconds" >&2; exit 2; }; timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "slurm-test.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "slurm-test.sh: run as root: it installs packages and starts daemons" >&2; exit 2; }

began=$(date +%s)
say() { echo "slurm-test: $*"; }
fail() { echo "slurm-test: FAIL: $*" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/lgm-slurm-test.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	if [ -n "$keep" ]; then echo "slurm-test: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
	say "installing slurm-wlm and munge"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; fail "apt-get install"; }
fi
say "$(slurmctld -V)"

if [ -z "$lgm" ]; then
	say "building lgm from $repo"
	(cd "$repo" && go build -o "$tmp/lgm" ./cmd/lgm)
	lgm=$tmp/lgm
fi
lgm=$(cd "$(dirname "$lgm")" && pwd)/$(basename "$lgm")

# munge, with its own key, socket and files.
dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge.key"
munged --force --key-file="$tmp/munge.key" --socket="$tmp/munge.socket" \
	--pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed"
pids+=("$(cat "$tmp/munged.pid")")

# slurm.conf for this one machine.
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)
mkdir -p "$tmp/state" "$tmp/spool"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=lgmtest
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/slurm.conf
slurmctld -i -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$tmp/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmctld.pid")")
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 100); do [ -s "$tmp/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmd.pid")")
for _ in $(seq 60); do
	state=$(sinfo -h -n localhost -o %T 2>/dev/null || true)
	[[ $state == idle* ]] && break
	sleep 1
done
[[ ${state:-} == idle* ]] || { tail -20 "$tmp/slurmctld.log" "$tmp/slurmd.log"; fail "the node is not idle (state: ${state:-none})"; }
say "slurmctld and slurmd up: node localhost, $cpus CPUs, ${mem} MB"

# The sweep: 4 tiny LeNet runs.
cd "$tmp"
cat >tiny.yaml <<'EOF'
# 4 tiny LeNet runs for scripts/slurm-test.sh.
name: tiny
set:
  model.net: lenet
  train.epochs: 1
  train.limit: 5
configs: [mnist-softmax, mnist-lgm]
seeds: [1, 2]
after:
  attack: {method: fgsm, eps: [0, 0.1]}
  report: true
EOF
"$lgm" sweep tiny.yaml --emit slurm --threads-per-job 1 --out "$tmp/runs" | tee emit.txt
# lgm says which after steps its binary cannot run ("note: after.attack left out").
has_attack=1 has_report=1
grep -q 'after.attack left out' emit.txt && has_attack=
grep -q 'after.report left out' emit.txt && has_report=
[ -n "$has_attack" ] || say "this lgm has no attack command: after.sbatch leaves it out (lgm said so above); checking compare.txt instead"
[ -n "$has_report" ] || say "this lgm has no report command: after.sbatch leaves it out; checking compare.txt instead"

# Submit exactly as lgm printed.
submit=$(sed -n 's/^  //p' emit.txt | grep sbatch)
[ "$(echo "$submit" | wc -l)" = 2 ] || fail "lgm did not print two sbatch commands"
eval "$(echo "$submit" | head -1)"
after=$(eval "$(echo "$submit" | tail -1)")
after=${after##* }
say "submitted array job ${id} and after job ${after}"

wait_for() { # job ids…
	local deadline=$(($(date +%s) + timeout))
	while [ -n "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ]; do
		[ "$(date +%s)" -lt "$deadline" ] || { squeue; fail "jobs $* still queued or running after ${timeout}s"; }
		sleep 2
	done
}
wait_for "${id%%;*}" "$after"

# Every task and the after job completed with exit code 0.
states=$(scontrol -o show job "${id%%;*}" | grep -o 'JobState=[A-Z]* .*ExitCode=[0-9:]*' | sed 's/ .*ExitCode=/ /' | sort | uniq -c)
say "array tasks: $(echo $states)"
[ "$(scontrol -o show job "${id%%;*}" | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" = 4 ] || { cat runs/.slurm/*; fail "not all 4 array tasks completed"; }
scontrol -o show job "$after" | grep -q 'JobState=COMPLETED .*ExitCode=0:0' || { cat runs/.slurm/after-*; fail "the after job did not complete"; }

for run in mnist-softmax-s1 mnist-lgm-s1 mnist-softmax-s2 mnist-lgm-s2; do
	d=runs/$run
	[ -f "$d/checkpoint.safetensors" ] && [ "$(wc -l <"$d/metrics.jsonl")" = 1 ] || { cat "$d/train.log"; fail "$run did not finish"; }
	grep -q "^done: " "$d/train.log" || fail "$run: no 'done' in its train.log"
	if [ -n "$has_attack" ]; then [ -f "$d/attack-fgsm.json" ] || fail "$run: the after step wrote no attack-fgsm.json"; fi
done
[ "$(grep -c ' 1/1 ' runs/compare.txt)" = 4 ] || { cat runs/compare.txt; fail "compare.txt does not list the 4 finished runs"; }
if [ -n "$has_report" ]; then [ -d runs/report ] || fail "the after step wrote no report"; fi
say "4 runs finished; the after step wrote compare.txt:"
cat runs/compare.txt

# Again: every task finds its run finished.
again=$(sbatch --parsable runs/sweep.sbatch)
wait_for "${again%%;*}"
[ "$(scontrol -o show job "${again%%;*}" | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" = 4 ] || fail "the second submission's tasks did not all complete"
[ "$(grep -h -c 'finished all 1 epochs' runs/*/train.log | awk '{s += $1} END {print s}')" = 4 ] || fail "the second submission did not skip the finished runs"
say "submitted again: all 4 tasks found their runs finished and trained nothing"

say "PASS in $(($(date +%s) - began)) s"
