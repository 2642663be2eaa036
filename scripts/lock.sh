#!/usr/bin/env bash
# Refresh the locks on purpose (`make lock`): every direct and transitive dependency pinned with
# its hashes, one resolution valid for every Python the project supports (uv's --universal,
# from requires-python), written as pip-readable requirements files:
#   requirements.txt        runtime, what the service image installs
#   requirements-dev.txt    runtime + [dev]: what `make install` / `make test` install
#   requirements-bench.txt  runtime + [dev] + [bench]: what `make bench` installs
# The three agree: the smaller two are resolved under the largest as constraints.
# `make install` never resolves; it installs requirements-dev.txt with --require-hashes.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PYTHON=${PYTHON:-python3}
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
"$PYTHON" -m venv "$tool"
"$tool/bin/pip" install --quiet "uv==$UV_VERSION"
uv=("$tool/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes
    --no-header --no-emit-index-url)
header() { printf '# LOCK: %s. Do not edit; refresh with `make lock` (scripts/lock.sh, uv %s).\n' "$1" "$UV_VERSION"; }
"${uv[@]}" pyproject.toml requirements.in --extra dev --extra bench -o requirements-bench.txt.new
{ header "runtime + dev + bench"; cat requirements-bench.txt.new; } > requirements-bench.txt
"${uv[@]}" pyproject.toml requirements.in --extra dev -c requirements-bench.txt -o requirements-dev.txt.new
{ header "runtime + dev"; cat requirements-dev.txt.new; } > requirements-dev.txt
"${uv[@]}" pyproject.toml requirements.in -c requirements-bench.txt -o requirements.txt.new
{ header "runtime"; cat requirements.txt.new; } > requirements.txt
rm -f requirements*.txt.new
echo "lock: wrote requirements.txt requirements-dev.txt requirements-bench.txt" >&2
