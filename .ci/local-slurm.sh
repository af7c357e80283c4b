#!/usr/bin/env bash
# A single-node SLURM on this machine, for tests/test_slurm.py (run as root on a throw-away CI machine).
#
#   .ci/local-slurm.sh start [SCRATCH]   install (apt) munge + slurm if missing, start munged, slurmctld,
#                                        slurmd; wait until `sinfo` shows the node up. Safe to run again.
#   .ci/local-slurm.sh stop  [SCRATCH]   stop the daemons this script started (by their pid files).
#   .ci/local-slurm.sh status [SCRATCH]  print sinfo; exit 1 if SLURM is not answering.
#
# SCRATCH (default $LOCAL_SLURM_DIR, else /tmp/local-slurm) holds state, spool, logs and pid files.
# Writes /etc/slurm/slurm.conf (refuses to overwrite one it did not write) and, if absent, the munge key.
# Nothing leaves the machine except apt. Env: LOCAL_SLURM_TIMEOUT (seconds to wait for the node, 60).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons, runuser and mungekey live there

ACTION="${1:-start}"
SCRATCH="${2:-${LOCAL_SLURM_DIR:-/tmp/local-slurm}}"
TIMEOUT="${LOCAL_SLURM_TIMEOUT:-60}"
CONF=/etc/slurm/slurm.conf
MARKER="# written by .ci/local-slurm.sh"
PACKAGES=(munge slurmctld slurmd slurm-client)

say() { echo "local-slurm: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

pid_alive() {  # pid_alive FILE: the pid in FILE is a running process (a zombie counts as gone)
    local pid
    [[ -s "$1" ]] || return 1
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]]
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    say "installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    # munged refuses keys and directories that others can read or write.
    chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return
    fi
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
    touch "$SCRATCH/munged.ours"
    for _ in $(seq 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return
        sleep 0.5
    done
    die "munged does not answer (munge -n | unmunge); see /var/log/munge/munged.log:
$(tail -n 20 /var/log/munge/munged.log 2>/dev/null)"
}

write_conf() {  # sets CONF_CHANGED=1 when the file was (re)written
    local host cpus mem_kb mem_mb text
    host="$(hostname -s)"
    cpus="$(nproc)"
    mem_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
    mem_mb=$(( mem_kb * 8 / 10 / 1024 ))
    text="$MARKER
ClusterName=localci
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
MailProg=/bin/true
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
SlurmctldPidFile=$SCRATCH/run/slurmctld.pid
SlurmdPidFile=$SCRATCH/run/slurmd.pid
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=cpu Nodes=${host} Default=YES MaxTime=INFINITE State=UP"
    if [[ -e "$CONF" ]] && ! head -n 1 "$CONF" | grep -qxF "$MARKER"; then
        die "$CONF exists and was not written by this script: this machine already has a SLURM setup;" \
            "use it, or move $CONF away."
    fi
    if [[ -e "$CONF" ]] && [[ "$(cat "$CONF")" == "$text" ]]; then
        return
    fi
    mkdir -p /etc/slurm
    printf '%s\n' "$text" >"$CONF"
    CONF_CHANGED=1
}

logs() {
    for f in "$SCRATCH"/log/slurmctld.log "$SCRATCH"/log/slurmd.log; do
        echo "----- $f (last 30 lines)"
        tail -n 30 "$f" 2>/dev/null || echo "(missing)"
    done
}

node_up() {  # the node answers and takes jobs
    local state
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1)"
    [[ "$state" =~ ^(idle|mixed|allocated|completing)$ ]]
}

stop_slurm() {
    local f
    for f in "$SCRATCH/run/slurmd.pid" "$SCRATCH/run/slurmctld.pid"; do
        if pid_alive "$f"; then
            say "stopping $(basename "$f" .pid) (pid $(cat "$f"))"
            kill "$(cat "$f")"
            for _ in $(seq 40); do pid_alive "$f" || break; sleep 0.25; done
        fi
        rm -f "$f"
    done
}

stop_munge() {  # only a munged that this script started
    if [[ -e "$SCRATCH/munged.ours" ]] && pid_alive /run/munge/munged.pid; then
        say "stopping munged (pid $(cat /run/munge/munged.pid))"
        kill "$(cat /run/munge/munged.pid)"
    fi
    rm -f "$SCRATCH/munged.ours"
}

start() {
    [[ $EUID -eq 0 ]] || die "run as root (it installs packages and starts system daemons)"
    install_packages
    mkdir -p "$SCRATCH"/{state,spool,log,run}
    start_munge
    CONF_CHANGED=0
    write_conf
    if (( CONF_CHANGED )); then
        say "wrote $CONF"
        stop_slurm  # daemons started with another configuration
    fi
    if ! pid_alive "$SCRATCH/run/slurmctld.pid"; then
        say "starting slurmctld"
        slurmctld || die "slurmctld did not start
$(logs)"
    fi
    if ! pid_alive "$SCRATCH/run/slurmd.pid"; then
        say "starting slurmd"
        slurmd || die "slurmd did not start
$(logs)"
    fi
    local waited=0
    until node_up; do
        if (( waited >= TIMEOUT )); then
            die "the node is not up after ${TIMEOUT}s; sinfo says:
$(sinfo -N -l 2>&1)
$(logs)"
        fi
        sleep 1
        waited=$(( waited + 1 ))
    done
    say "SLURM is up ($(sinfo -h -N -o '%N %T %c CPUs %m MB'))"
}

case "$ACTION" in
    start) start ;;
    stop) stop_slurm; stop_munge ;;
    status) sinfo -N -l || exit 1 ;;
    *) die "unknown action '$ACTION' (start | stop | status)" ;;
esac
