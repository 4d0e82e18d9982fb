#!/usr/bin/env bash
# slurm/local/start.sh: a one-node Slurm cluster on this machine, for alq's
# tests and for trying the sbatch templates without a real cluster.
#
# Run as root on Debian 12 (no systemd needed).  Idempotent: installs
# slurm-wlm and munge when missing, (re)writes /etc/slurm/slurm.conf, starts
# only the daemons that are not running (munged, slurmctld, slurmd; pid files
# under $ALQ_SLURM_RUNDIR) and waits until the node accepts jobs.  A changed
# configuration restarts the Slurm daemons so that they read it.
# slurm/local/stop.sh stops them again.
#
# Knobs (environment):
#   ALQ_SLURM_RUNDIR  logs, state, spool and pid files (default /var/tmp/alq-slurm)
#   ALQ_SLURM_CPUS    CPUs the node advertises (default: the real count).  More
#                     than the real count lets `sbatch -n 4` run on 2 cores
#                     without --overcommit.
#   ALQ_SLURM_WAIT    seconds to wait for the node to become idle (default 60)
# Exit status: 0 when the node is idle (or busy with jobs), 1 otherwise.
set -euo pipefail
RUN=${ALQ_SLURM_RUNDIR:-/var/tmp/alq-slurm}
WAIT=${ALQ_SLURM_WAIT:-60}
NODE=$(hostname -s)
REAL_CPUS=$(nproc)
CPUS=${ALQ_SLURM_CPUS:-$REAL_CPUS}
MEM_MB=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 512 ))

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm/local/start.sh: must run as root (it installs packages and starts daemons)" >&2
  exit 1
fi

missing=()
for b in slurmctld slurmd srun sbatch munged; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm/local/start.sh: installing slurm-wlm and munge (missing: ${missing[*]})" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
    slurm-wlm slurmctld slurmd slurm-client munge >/dev/null
fi

mkdir -p "$RUN"/{log,ctld,spool} /etc/slurm /run/munge /var/log/munge /var/lib/munge /etc/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key

# Advertising more CPUs than the machine has needs config_overrides, or slurmd
# refuses to register the node.
overrides=""
if [ "$CPUS" -gt "$REAL_CPUS" ]; then overrides="SlurmdParameters=config_overrides"; fi

# MpiDefault=pmix: Debian's Open MPI starts under `srun --mpi=pmix`; pmi2 and none fail.
cat > "$RUN/slurm.conf.new" <<CONF
# written by alq slurm/local/start.sh
ClusterName=alq-local
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=${RUN}/ctld
SlurmdSpoolDir=${RUN}/spool
SlurmctldPidFile=${RUN}/slurmctld.pid
SlurmdPidFile=${RUN}/slurmd.pid
SlurmctldLogFile=${RUN}/log/slurmctld.log
SlurmdLogFile=${RUN}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldPort=6817
SlurmdPort=6818
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0
${overrides}
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_pid() { # pidfile: TERM, wait up to 5 s
  local p
  p=$(cat "$1")
  kill -TERM "$p"
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

if ! cmp -s "$RUN/slurm.conf.new" /etc/slurm/slurm.conf; then
  for d in slurmd slurmctld; do
    if alive "$RUN/$d.pid"; then stop_pid "$RUN/$d.pid"; fi
  done
  mv "$RUN/slurm.conf.new" /etc/slurm/slurm.conf
else
  rm -f "$RUN/slurm.conf.new"
fi
# Slurm 22.05 reads cgroup.conf only for cgroup plugins; a harmless one keeps it quiet.
[ -f /etc/slurm/cgroup.conf ] || echo "CgroupPlugin=autodetect" > /etc/slurm/cgroup.conf

if ! alive /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged --force
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
if ! munge -n | unmunge >/dev/null; then
  echo "slurm/local/start.sh: munged does not answer (see /var/log/munge/munged.log)" >&2
  exit 1
fi

if ! alive "$RUN/slurmctld.pid"; then
  /usr/sbin/slurmctld # daemonizes and writes its pid file
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
if ! alive "$RUN/slurmd.pid"; then
  /usr/sbin/slurmd
fi

state() { sinfo -h -n "$NODE" -o %T 2>/dev/null || true; }
schedulable() { case "$1" in idle*|mixed*|allocated*) return 0;; *) return 1;; esac; }
deadline=$(( $(date +%s) + WAIT ))
resumed=0
st=$(state)
until schedulable "$st"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "slurm/local/start.sh: node $NODE is '$st' after ${WAIT} s (logs: $RUN/log)" >&2
    exit 1
  fi
  # A node left down or drained by an earlier run comes back on request.
  case "$st" in down*|drain*)
    if [ $resumed -eq 0 ]; then scontrol update nodename="$NODE" state=resume 2>/dev/null || true; resumed=1; fi;;
  esac
  sleep 0.2
  st=$(state)
done
echo "local slurm up: node $NODE ($st), $CPUS CPU(s), MpiDefault=pmix, run dir $RUN"
