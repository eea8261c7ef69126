#!/usr/bin/env bash
# Bring up a single-node Slurm cluster (munged + slurmctld + slurmd) on this
# machine: Debian 12, run as root, no systemd. Idempotent: safe to run again
# while the cluster is up, or after .ci/slurm-down.sh.
#
# Env knobs: SLURM_UP_TIMEOUT (seconds to wait for the node, default 60).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
TIMEOUT="${SLURM_UP_TIMEOUT:-60}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T0=$SECONDS

STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
LOG_DIR=/var/log/slurm
CONF=/etc/slurm/slurm.conf
CTLD_PID="$STATE_DIR/slurmctld.pid"
SLURMD_PID="$SPOOL_DIR/slurmd.pid"
MUNGED_PID=/run/munge/munged.pid

log() { echo "[slurm-up] $*"; }

[ "$(id -u)" -eq 0 ] || { echo "[slurm-up] must run as root" >&2; exit 1; }

# True if the pid in pid file $1 is alive (not a zombie: PID 1 here reaps
# exited daemons only lazily) and is the program named $2.
running() {
    local pid st
    [ -s "$1" ] || return 1
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
    st="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# --- 1. packages -------------------------------------------------------------
PKGS=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    # Keep package scripts from starting daemons (Debian's Docker images already
    # ship a policy-rc.d that does this; add a temporary one if it is absent).
    tmp_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        tmp_policy=/usr/sbin/policy-rc.d
    fi
    apt_install() { apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"; }
    # apt-get update only when there are no lists, or once if install fails
    # (unknown package / stale lists).
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' > /dev/null; then
        apt-get update -q
        apt_install
    elif ! apt_install; then
        log "install failed; running apt-get update once and retrying"
        apt-get update -q
        apt_install
    fi
    if [ -n "$tmp_policy" ]; then rm -f "$tmp_policy"; fi
fi

# --- 2. munge ----------------------------------------------------------------
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
    log "creating munge key"
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 600 /etc/munge/munge.key
if running "$MUNGED_PID" munged; then
    log "munged already running (pid $(cat "$MUNGED_PID"))"
else
    rm -f "$MUNGED_PID"
    runuser -u munge -- /usr/sbin/munged
    log "started munged"
fi

# --- 3. slurm directories and config ------------------------------------------
mkdir -p "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR" /etc/slurm
chown slurm:slurm /var/lib/slurm "$STATE_DIR" "$SPOOL_DIR" "$LOG_DIR"

HOST="$(hostname -s)"
CPUS="$(nproc)"
# Advertise at most 4000 MB, less on a small machine (slurmd drains a node that
# has less memory than configured).
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 3 / 4 ))
REAL_MEM=$(( MEM_MB < 4000 ? MEM_MB : 4000 ))
# Without a default, a job that gives no --mem is allotted the node's whole
# memory under CR_Core_Memory, so jobs would run one at a time.
DEF_MEM_PER_CPU=$(( REAL_MEM / CPUS ))

new_conf="$(mktemp)"
trap 'rm -f "$new_conf"' EXIT
cat > "$new_conf" <<CONF
# Written by .ci/slurm-up.sh: single-node test cluster. Edits are overwritten.
ClusterName=simci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=${DEF_MEM_PER_CPU}
ReturnToService=2
MpiDefault=none
# No mail on this machine; silences "Configured MailProg is invalid".
MailProg=/bin/true
StateSaveLocation=${STATE_DIR}
SlurmdSpoolDir=${SPOOL_DIR}
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${REAL_MEM} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

if ! cmp -s "$new_conf" "$CONF"; then
    log "writing $CONF"
    install -m 644 "$new_conf" "$CONF"
    # Daemons started with an older config must be restarted to pick it up.
    if running "$CTLD_PID" slurmctld || running "$SLURMD_PID" slurmd; then
        log "config changed: restarting slurm daemons"
        "$HERE/slurm-down.sh" --keep-munge
    fi
fi

# --- 4. daemons ----------------------------------------------------------------
if running "$CTLD_PID" slurmctld; then
    log "slurmctld already running (pid $(cat "$CTLD_PID"))"
else
    rm -f "$CTLD_PID"
    /usr/sbin/slurmctld
    log "started slurmctld"
fi
if running "$SLURMD_PID" slurmd; then
    log "slurmd already running (pid $(cat "$SLURMD_PID"))"
else
    rm -f "$SLURMD_PID"
    /usr/sbin/slurmd
    log "started slurmd"
fi

# --- 5. wait for the node --------------------------------------------------------
# A state with a suffix ("idle*", "down*", "drain~") is not ready.
state=""
resumed=0
deadline=$(( SECONDS + TIMEOUT ))
while :; do
    state="$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1 || true)"
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down|drained|draining)
            # Node responds but was left down/drained by an earlier run:
            # ReturnToService=2 should clear this; nudge it once otherwise.
            if [ "$resumed" -eq 0 ]; then
                scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
                resumed=1
            fi ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        {
            echo "[slurm-up] ERROR: node $HOST not ready after ${TIMEOUT}s (sinfo state: '${state:-none}')"
            sinfo -N -l 2>&1 || true
            scontrol show node "$HOST" 2>&1 | grep -iE 'State|Reason' || true
            for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
                echo "----- tail of $f -----"
                tail -n 30 "$f" 2>&1 || true
            done
        } >&2
        exit 1
    fi
    sleep 0.5
done

log "OK: cluster simci up, node $HOST $state (CPUs=$CPUS RealMemory=$REAL_MEM MB), partition debug; took $(( SECONDS - T0 ))s"
