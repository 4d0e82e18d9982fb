#!/usr/bin/env bash
# slurm/local/stop.sh: cancels the jobs of the local cluster slurm/local/start.sh
# started and stops its daemons (munged, slurmctld, slurmd), by the pid files
# of its run directory, never by process name.  It talks only to that cluster
# (SLURM_CONF of the run directory), so a system Slurm and other local
# clusters keep their jobs and daemons.
#   ALQ_SLURM_RUNDIR  the run directory (default /var/tmp/alq-slurm)
#   --purge           also removes the run directory (logs, job state, key)
set -uo pipefail
RUN=${ALQ_SLURM_RUNDIR:-/var/tmp/alq-slurm}
CONF=$RUN/etc/slurm.conf

# The pid file's process, when its command line names the run directory.
ours() { [ -s "$1" ] && tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -qF -- "$RUN/"; }
stop() { # pidfile name
  local f=$1 p
  if [ ! -s "$f" ]; then echo "$2: not running (no pid file)"; return 0; fi
  p=$(cat "$f")
  if ours "$f"; then
    kill -TERM "$p"
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; fi
    echo "$2: stopped pid $p"
  else
    echo "$2: pid $p is not this run directory's $2 (not running)"
  fi
  rm -f "$f"
}

# Every job of this cluster was submitted to it (its controller is ours):
# cancel them, so that slurmd has no job steps left to wait on.
if [ -f "$CONF" ] && ours "$RUN/slurmctld.pid"; then
  jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    # shellcheck disable=SC2086 # one argument per job id
    SLURM_CONF=$CONF scancel $jobs && echo "cancelled job(s) $jobs"
  fi
fi
stop "$RUN/slurmd.pid" slurmd
stop "$RUN/slurmctld.pid" slurmctld
stop "$RUN/munged.pid" munged
if [ "${1:-}" = "--purge" ]; then rm -rf "$RUN"; echo "removed $RUN"; fi
