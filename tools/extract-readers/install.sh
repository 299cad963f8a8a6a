#!/usr/bin/env bash
# Installs the independent reader that crates/extract-output/tests/readers.rs
# reads the extract's files with, pinned, from PyPI only: DuckDB's Python
# package, by hash, into tools/extract-readers/.venv. Needs python3 (3.11
# or later, with venv). Nothing is downloaded at test time; run this once
# (CI runs it in .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

echo "extract-readers: DuckDB into $(pwd)/.venv"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps --only-binary=:all: -r requirements.txt
.venv/bin/python -c 'import duckdb; print("extract-readers: duckdb", duckdb.__version__, "installed")'
