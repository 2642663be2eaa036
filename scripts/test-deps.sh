#!/usr/bin/env bash
# System packages the test suite needs. Nothing yet beyond Python: later suites (browser tests,
# ODBC, PostgreSQL, LibreOffice) add their installs here so `make test` stays one command.
set -euo pipefail
exit 0
