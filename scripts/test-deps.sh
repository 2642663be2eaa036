#!/usr/bin/env bash
# System packages the test suite needs, installed when missing so `make test` stays one command.
# openssl: the evidence tests verify signatures and RFC 3161 tokens with the openssl CLI, the way
# an auditor would. Later suites (browser, ODBC, PostgreSQL, LibreOffice) add their installs here.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
