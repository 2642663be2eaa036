#!/usr/bin/env bash
# System packages the test suite needs, installed when missing so `make test` stays one command.
#   openssl          the evidence tests verify signatures and RFC 3161 tokens with the openssl CLI,
#                    the way an auditor would
#   postgresql       the run-store tests start a throwaway server on loopback (tests/close/pg.py)
#   unixodbc, odbc-postgresql
#                    the SQL Server engine's driver plumbing is proved through pyodbc against a
#                    local database reachable by ODBC (PostgreSQL's ODBC driver)
#   chromium         the browser tests drive Debian's Chromium with Playwright
#   libreoffice-calc the workbook tests convert the .xlsx to PDF to prove it opens cleanly
#   poppler-utils    pdftoppm renders report pages to images for the visual checks
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
server=no
for bin in /usr/lib/postgresql/*/bin; do
  if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then server=yes; fi
done
[ "$server" = yes ] || need+=(postgresql)
ldconfig -p 2>/dev/null | grep -q 'libodbc.so.2' || need+=(unixodbc)
ls /usr/lib/*/odbc/psqlodbcw.so >/dev/null 2>&1 || need+=(odbc-postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "test-deps: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
