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
# the web interface under the same systemd (tests/web covers its pages): active, HTTPS answering,
# HTTP redirecting, and its user unable to read the daemon's database
webvalue() { systemctl show -P "$1" centralino-web.service; }
webup() { [ "$(webvalue ActiveState)" = active ] && /opt/centralino/bin/python3 -c \
    "import ssl; ssl.get_server_certificate(('127.0.0.1', 443))" >/dev/null 2>&1; }
if wait_for 90 webup; then
    systemctl show -p ActiveState -p NRestarts -p User centralino-web.service > $P/web
    /opt/centralino/bin/python3 - > $P/web-http 2>&1 <<'PY'
import http.client, ssl
context = ssl.create_default_context()
context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
page = http.client.HTTPSConnection("127.0.0.1", 443, context=context, timeout=10)
page.request("GET", "/accesso")
answer = page.getresponse()
print(answer.status, "Nome account" in answer.read().decode())
plain = http.client.HTTPConnection("127.0.0.1", 80, timeout=10)
plain.request("GET", "/stato", headers={"Host": "centralino"})
redirect = plain.getresponse()
print(redirect.status, redirect.getheader("Location"))
PY
    runuser -u centralino-web -- cat /var/lib/centralino/centralino.db > /dev/null 2> $P/web-db
    echo "rc=$?" >> $P/web-db
else
    systemctl show -p ActiveState -p Result -p NRestarts centralino-web.service > $P/web-never
fi
systemctl poweroff
