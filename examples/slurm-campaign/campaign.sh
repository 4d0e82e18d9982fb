#!/usr/bin/env bash
# examples/slurm-campaign/campaign.sh: three labeling rounds as a chain of
# Slurm jobs, plus a job array choosing one batch per seed, all submitted at once.
#
#   ALQ_PREFIX=/opt/alq examples/slurm-campaign/campaign.sh DIR
#
# The chain, each job starting only when the one before it succeeded
# (--dependency=afterok):
#   round 1   slurm/round.sbatch: select round1.h5 with --state state.h5, export round1-tasks.csv
#   answers 1 annotate.py fills in round1-tasks.csv from the pool's labels -> answers1.csv
#   round 2   round.sbatch: ingest answers1.csv, select round2.h5, export round2-tasks.csv
#   answers 2 -> answers2.csv
#   round 3   round.sbatch: ingest answers2.csv, select round3.h5, export round3-tasks.csv
# and, independently, the array job seed-%a (slurm/select.sbatch --array=1-3): the
# batch the pool's own labeled set gives with seeds 1, 2 and 3 (seed-1.h5 ...).
# Job ids go to DIR/jobs.txt; watch with `squeue`, outputs are DIR/*.out.
#
# Environment (site variables such as SBATCH_PARTITION, SBATCH_ACCOUNT,
# ALQ_PREFIX, ALQ_MODULES, ALQ_LAUNCHER: docs/slurm.md; they reach every job):
#   ALQ_POOL      the pool (default DIR/pool.h5, generated here with alq gen when missing)
#   ALQ_BUDGET    items per round (default 50)
#   ALQ_STRATEGY  default margin-kcenter
#   ALQ_SEEDS     the array's seeds, as sbatch --array takes them (default 1-3)
#   ALQ_PYTHON    Python 3 with h5py and numpy for annotate.py (default python3)
#   ALQ_TEMPLATES the folder of round.sbatch and select.sbatch (default: this
#                 source tree's slurm/, else $ALQ_PREFIX/share/alq/slurm)
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: campaign.sh DIR   (see the comment at the top)" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
wd=$(cd "$1" && pwd)
templates=${ALQ_TEMPLATES:-$here/../../slurm}
[ -f "$templates/round.sbatch" ] || templates=${ALQ_PREFIX:-/usr/local}/share/alq/slurm
alq=${ALQ:-${ALQ_PREFIX:+$ALQ_PREFIX/bin/}alq}
pool=${ALQ_POOL:-$wd/pool.h5}
budget=${ALQ_BUDGET:-50}
strategy=${ALQ_STRATEGY:-margin-kcenter}
python=${ALQ_PYTHON:-python3}

if [ ! -f "$pool" ]; then
  "$alq" gen --out "$pool" --items 20000 --dim 16 --classes 5 --imbalance 5 --labeled 20 --seed 3
fi
# Prints the job id of `sbatch ARGS`, run in DIR.
submit() { sbatch --parsable --chdir="$wd" "$@" | cut -d';' -f1; }
round() { # round N [after-job]: round.sbatch, ingesting answers N-1 from round 2 on
  local n=$1 after=${2:-}
  env -u ALQ_ANSWERS ALQ_POOL="$pool" ALQ_STATE="$wd/state.h5" ALQ_BUDGET="$budget" ALQ_STRATEGY="$strategy" \
    ALQ_SEED="$n" ALQ_OUT="$wd/round$n.h5" ${after:+ALQ_ANSWERS="$wd/answers$((n - 1)).csv"} \
    sbatch --parsable --chdir="$wd" --job-name="alq-round$n" --output="round$n-%j.out" \
    ${after:+--dependency=afterok:$after} "$templates/round.sbatch" | cut -d';' -f1
}
answers() { # answers N after-job: annotate.py on round N's tasks
  submit --dependency="afterok:$2" --job-name="alq-answers$1" --ntasks=1 --output="answers$1-%j.out" \
    --wrap="$(printf '%q ' "$python" "$here/annotate.py" "$pool" "$wd/round$1-tasks.csv" "$wd/answers$1.csv")"
}

r1=$(round 1)
a1=$(answers 1 "$r1")
r2=$(round 2 "$a1")
a2=$(answers 2 "$r2")
r3=$(round 3 "$a2")
seeds=$(submit --array="${ALQ_SEEDS:-1-3}" --job-name=alq-seeds --output="seed-%a-%A.out" "$templates/select.sbatch" \
        --pool "$pool" --budget "$budget" --strategy "$strategy" --seed %a --out "$wd/seed-%a.h5")
printf 'round1 %s\nanswers1 %s\nround2 %s\nanswers2 %s\nround3 %s\nseeds %s\n' \
  "$r1" "$a1" "$r2" "$a2" "$r3" "$seeds" >"$wd/jobs.txt"
echo "campaign.sh: submitted round1 $r1 -> answers1 $a1 -> round2 $r2 -> answers2 $a2 -> round3 $r3 (afterok), seeds $seeds"
echo "campaign.sh: watch with: squeue -j $r1,$a1,$r2,$a2,$r3,$seeds   (outputs in $wd)"
