#!/usr/bin/env bash
# System packages the test suite needs, installed when missing so `make test` stays one command.
# openssl: the evidence tests verify signatures and RFC 3161 tokens with the openssl CLI, the way
# an auditor would. postgresql: the run-store tests start a throwaway server on loopback
# (tests/close/pg.py) from /usr/lib/postgresql/*/bin. Later suites (browser, ODBC, LibreOffice)
# add their installs here.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
server=no
for bin in /usr/lib/postgresql/*/bin; do
  if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then server=yes; fi
done
[ "$server" = yes ] || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
