#!/usr/bin/env bash
# slurm/local/start.sh: a one-node Slurm cluster on this machine, for alq's
# tests and for trying the sbatch templates without a real cluster.
#
# Run as root on Debian 12 (no systemd needed).  Everything it writes lives in
# its run directory: the configuration ($RUN/etc/slurm.conf), its own munged
# (key and socket under $RUN/munge), logs, job state, spool and pid files.  It
# never writes /etc/slurm or /etc/munge and talks on two free TCP ports picked
# at start, so it cannot disturb a system Slurm or another local cluster.
# Commands reach it through SLURM_CONF:
#
#   slurm/local/start.sh && . /var/tmp/alq-slurm/env.sh && sbatch ...
#
# $RUN/env.sh exports SLURM_CONF and ALQ_SLURM_RUNDIR.  Idempotent: when its
# daemons are running with the requested CPU count it changes nothing;
# otherwise it (re)starts them on new ports.  Installs slurm-wlm and munge when
# missing.  slurm/local/stop.sh stops them again and cancels their jobs.
#
# Knobs (environment):
#   ALQ_SLURM_RUNDIR  the run directory (default /var/tmp/alq-slurm; keep it
#                     short: munge's socket path must fit in 107 bytes)
#   ALQ_SLURM_CPUS    CPUs the node advertises (default: the real count).  More
#                     than the real count lets the templates' 4 tasks run on 2 cores.
#   ALQ_SLURM_WAIT    seconds to wait for the node to become idle (default 60)
# Exit status: 0 when the node is idle (or busy with jobs), 1 otherwise.
set -euo pipefail
RUN=${ALQ_SLURM_RUNDIR:-/var/tmp/alq-slurm}
WAIT=${ALQ_SLURM_WAIT:-60}
NODE=$(hostname -s)
REAL_CPUS=$(nproc)
CPUS=${ALQ_SLURM_CPUS:-$REAL_CPUS}
MEM_MB=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 512 ))
CONF=$RUN/etc/slurm.conf
MUNGE_SOCKET=$RUN/munge/munge.socket

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

# A daemon of this run directory: its pid file names a live process whose
# command line names the run directory (a recycled pid is someone else's).
ours() { [ -s "$1" ] && tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -qF -- "$RUN/"; }
stop_pid() { # pidfile: TERM, wait up to 5 s, then KILL
  local p
  p=$(cat "$1")
  kill -TERM "$p"
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
# A TCP port nothing listens on (Slurm's own daemons included), below the
# kernel's ephemeral range: a port there may be the local end of any outgoing
# connection (an MPI job's, say), and slurmctld's bind then fails although
# nothing listens.
free_port() {
  local p low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 21024 ] || low=32768
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % (low - 20000) ))
    [ "$p" = "${1:-}" ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "slurm/local/start.sh: no free TCP port found" >&2
  return 1
}

running=1
for d in munged slurmctld slurmd; do ours "$RUN/$d.pid" || running=0; done
if [ $running -eq 1 ] && grep -q "^NodeName=.* CPUs=$CPUS " "$CONF" 2>/dev/null; then
  echo "slurm/local/start.sh: already running (run dir $RUN)"
else
  for d in slurmd slurmctld munged; do
    if ours "$RUN/$d.pid"; then stop_pid "$RUN/$d.pid"; fi
  done
  mkdir -p "$RUN"/{etc,log,ctld,spool,munge}
  chmod 0755 "$RUN/munge"
  if [ ! -s "$RUN/munge/munge.key" ]; then
    dd if=/dev/urandom of="$RUN/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$RUN/munge/munge.key"
  fi
  ctld_port=$(free_port)
  slurmd_port=$(free_port "$ctld_port")
  # Advertising more CPUs than the machine has needs config_overrides, or slurmd
  # refuses to register the node.
  overrides=""
  if [ "$CPUS" -gt "$REAL_CPUS" ]; then overrides="SlurmdParameters=config_overrides"; fi
  # MpiDefault=pmix: Debian's Open MPI starts under `srun --mpi=pmix`; pmi2 and none fail.
  # AuthInfo: Slurm's munge plugins (auth and cred) use this run's munged.
  cat >"$CONF.new" <<CONF
# written by alq slurm/local/start.sh for run directory $RUN
ClusterName=alq-local
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${MUNGE_SOCKET}
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
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0
${overrides}
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=alq-local Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  mv "$CONF.new" "$CONF"
  # Slurm 22.05 reads cgroup.conf (beside slurm.conf) only for cgroup plugins; a harmless one keeps it quiet.
  echo "CgroupPlugin=autodetect" >"$RUN/etc/cgroup.conf"
  printf 'export SLURM_CONF=%q\nexport ALQ_SLURM_RUNDIR=%q\n' "$CONF" "$RUN" >"$RUN/env.sh"

  /usr/sbin/munged --force --socket="$MUNGE_SOCKET" --key-file="$RUN/munge/munge.key" \
    --pid-file="$RUN/munged.pid" --log-file="$RUN/log/munged.log" --seed-file="$RUN/munge/munged.seed"
  for _ in $(seq 50); do
    munge --socket="$MUNGE_SOCKET" -n 2>/dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1 && break
    sleep 0.1
  done
  if ! munge --socket="$MUNGE_SOCKET" -n | unmunge --socket="$MUNGE_SOCKET" >/dev/null; then
    echo "slurm/local/start.sh: munged does not answer (see $RUN/log/munged.log)" >&2
    exit 1
  fi
  /usr/sbin/slurmctld -f "$CONF" # daemonizes and writes its pid file
  for _ in $(seq 100); do SLURM_CONF=$CONF scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
  /usr/sbin/slurmd -f "$CONF"
fi

export SLURM_CONF=$CONF
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
echo "local slurm up: node $NODE ($st), $CPUS CPU(s), partition alq-local, ports $(awk -F= '/^Slurm(ctld|d)Port=/{printf "%s ", $2}' "$CONF")run dir $RUN"
echo "use it with: . $RUN/env.sh"
