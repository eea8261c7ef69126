#!/usr/bin/env bash
# Stop the single-node Slurm cluster started by .ci/slurm-up.sh: slurmd,
# slurmctld, then munged, by the pids in their pid files only. Already-stopped
# daemons are fine. With --keep-munge, leave munged running.
set -euo pipefail

keep_munge=0
[ "${1:-}" = "--keep-munge" ] && keep_munge=1

log() { echo "[slurm-down] $*"; }

# True if pid $1 exists and is not a zombie (a zombie has exited already).
alive() {
    local st
    st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# stop PIDFILE NAME: TERM the pid if it is alive and is NAME, wait up to 30 s,
# then KILL; remove the pid file.
stop() {
    local pidfile="$1" name="$2" pid i
    if [ ! -s "$pidfile" ]; then
        log "$name: not running (no pid file)"
        return 0
    fi
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if ! [[ "$pid" =~ ^[0-9]+$ ]] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
        log "$name: not running (stale pid file)"
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do
        alive "$pid" || break
        sleep 0.5
    done
    if alive "$pid"; then
        log "$name (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for i in $(seq 1 20); do
            alive "$pid" || break
            sleep 0.5
        done
    fi
    rm -f "$pidfile"
    log "$name (pid $pid) stopped"
}

stop /var/lib/slurm/slurmd/slurmd.pid slurmd
stop /var/lib/slurm/slurmctld/slurmctld.pid slurmctld
[ "$keep_munge" -eq 1 ] || stop /run/munge/munged.pid munged
