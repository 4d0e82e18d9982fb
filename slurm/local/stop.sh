#!/usr/bin/env bash
# slurm/local/stop.sh: stops the daemons slurm/local/start.sh started, by their
# pid files (never by process name), after cancelling this user's jobs.
#   --purge   also removes the run directory (logs, job state)
set -uo pipefail
RUN=${ALQ_SLURM_RUNDIR:-/var/tmp/alq-slurm}

stop() { # pidfile name
  local f=$1 p
  if [ ! -s "$f" ]; then echo "$2: not running (no pid file)"; return 0; fi
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; fi
    echo "$2: stopped pid $p"
  else
    echo "$2: pid $p was not running"
  fi
  rm -f "$f"
}

# No job steps left behind for slurmd to wait on.
if [ -s "$RUN/slurmctld.pid" ] && command -v scancel >/dev/null; then
  scancel --user="$(id -un)" >/dev/null 2>&1 || true
fi
stop "$RUN/slurmd.pid" slurmd
stop "$RUN/slurmctld.pid" slurmctld
stop /run/munge/munged.pid munged
if [ "${1:-}" = "--purge" ]; then rm -rf "$RUN"; echo "removed $RUN"; fi
