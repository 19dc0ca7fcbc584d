#!/usr/bin/env bash
# Start a real single-node SLURM on this Debian/Ubuntu machine, for the `slurm` tests and for
# trying profiles/slurm by hand. Idempotent: a cluster that already answers is left alone.
#
#   bash tests/slurm/start_local_slurm.sh        # install what is missing, configure, start
#   bash tests/slurm/start_local_slurm.sh stop   # stop slurmd, slurmctld and munged
#
# The node gets this machine's real CPUs and memory (`slurmd -C`) and one fake GPU
# (gres `gpu`, File=/dev/null) so `--gpus=1` requests are scheduled. Two partitions on the
# same node, `cpu` (default) and `gpu`, as profiles/slurm expects. No accounting daemon
# (slurmdbd): sacct does not work, so the profile queries job states with squeue and
# MinJobAge keeps finished jobs visible to it for 10 minutes.
set -euo pipefail

CONF_DIR=/etc/slurm
SPOOL=/var/spool/slurm
LOGS=/var/log/slurm
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

stop() {
    scontrol shutdown 2>/dev/null || true   # stops slurmctld and the slurmd it knows
    for pidfile in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
        [ -f "$pidfile" ] && $SUDO kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    echo "local SLURM stopped"
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi

# SLURM answers and the node takes jobs: nothing to do.
if command -v sinfo >/dev/null && timeout 10 sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "local SLURM already running:"; sinfo
    exit 0
fi

# 1. Packages (SLURM 22.05 on Debian 12).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    echo "installing slurmctld slurmd slurm-client munge with apt-get"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
fi

# 2. munge: the key the package made, the daemon as the munge user.
[ -s /etc/munge/munge.key ] || $SUDO mungekey --create --force
$SUDO chown munge:munge /etc/munge/munge.key && $SUDO chmod 600 /etc/munge/munge.key
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
$SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    $SUDO runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi

# 3. Configuration: this machine's node line plus one fake GPU.
HOST=$(hostname -s)
NODE=$(slurmd -C | head -1)   # NodeName=<host> CPUs=.. Boards=.. ... RealMemory=..
$SUDO mkdir -p "$CONF_DIR" "$SPOOL/ctld" "$SPOOL/d" "$LOGS"
$SUDO tee "$CONF_DIR/slurm.conf" >/dev/null <<CONF
# Written by tests/slurm/start_local_slurm.sh: a single-node test cluster.
ClusterName=umxmr-local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
MailProg=/bin/true
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
ReturnToService=2
# finished jobs stay visible to squeue (the profile's status command) for 10 minutes
MinJobAge=600
# a cancelled job gets SIGTERM, then SIGKILL 10 s later
KillWait=10
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
$NODE Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST Default=NO MaxTime=INFINITE State=UP
CONF
echo "NodeName=$HOST Name=gpu File=/dev/null" | $SUDO tee "$CONF_DIR/gres.conf" >/dev/null

# 4. Daemons: controller first, then the node.
pgrep -x slurmctld >/dev/null || $SUDO slurmctld
for _ in $(seq 30); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
pgrep -x slurmd >/dev/null || $SUDO slurmd
for _ in $(seq 60); do
    sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
    sleep 0.5
done
if ! sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'; then
    echo "SLURM did not come up; see $LOGS/slurmctld.log and $LOGS/slurmd.log" >&2
    sinfo >&2 || true
    exit 1
fi
sinfo
echo "local SLURM is up. Stop it with: bash $0 stop"
