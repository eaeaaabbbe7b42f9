#!/bin/sh
# Runs inside the arm64 root filesystem (through qemu-user) after the .deb is installed, and
# writes what test_deb_arm64.py asserts on into /root/report, one file per question.
R=/root/report
mkdir -p $R
run() { name=$1; shift; "$@" > "$R/$name" 2>&1; echo $? > "$R/$name.rc"; }
run version centralino --version
run config-check centralino config check /etc/centralino/centralino.yaml
run enabled systemctl is-enabled centralino.service
run getty-dropin sh -c "cat /usr/lib/systemd/system/serial-getty@ttyAMA0.service.d/*.conf"
run passwd getent passwd centralino technician
run groups id -nG centralino
run status dpkg-query -W -f '${Status} ${Version} ${Architecture}\n' centralino
run conffiles dpkg-query -W -f '${Conffiles}\n' centralino
run files dpkg -L centralino
run config-link readlink /etc/centralino/centralino.yaml
run imports /opt/centralino/bin/python3 -c 'import platform, numpy, yaml, lgpio, centralino.media.g711 as g
print(platform.machine(), numpy.__version__, yaml.__with_libyaml__, len(g.alaw_encode(numpy.zeros(160, numpy.int16))))'
run machine uname -m
# the web interface (tests/web covers it on amd64): its unit, user, and its compiled libraries on aarch64
run web-enabled systemctl is-enabled centralino-web.service
run web-groups id -nG centralino-web
run web-imports /opt/centralino/bin/python3 -c 'import argon2, aiohttp, cryptography.x509, jinja2
from centralino.web import accounts, tls
h = accounts.hasher().hash("prova-centralino")
print(accounts.hasher().verify(h, "prova-centralino"), h.startswith("$argon2id$"))'
exit 0
