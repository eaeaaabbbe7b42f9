#!/bin/sh
# Runs as a unit inside the booted container (test_nspawn_boot.py): waits for centralino to be
# READY, freezes it with SIGSTOP so its watchdog heartbeats stop, waits for systemd to restart
# it, writes what it saw to /var/log/probe and powers the container off.
P=/var/log/probe
mkdir -p $P
show() { systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p StatusText centralino.service; }
value() { systemctl show -P "$1" centralino.service; }
wait_for() {  # wait_for SECONDS CONDITION...
    limit=$1; shift; waited=0
    until "$@"; do
        sleep 1; waited=$((waited + 1))
        [ $waited -ge "$limit" ] && return 1
    done
    return 0
}
active() { [ "$(value ActiveState)" = active ]; }
if wait_for 150 active; then
    date +%s > $P/ready-at
    show > $P/ready
    frozen=$(value MainPID)
    echo "$frozen" > $P/frozen-pid
    kill -STOP "$frozen"
    restarted() { [ "$(value NRestarts)" -ge 1 ] && active && [ "$(value MainPID)" != "$frozen" ]; }
    wait_for 120 restarted
    date +%s > $P/restarted-at
    show > $P/restarted
else
    show > $P/never-ready
fi
systemctl poweroff
