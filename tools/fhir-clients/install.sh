#!/usr/bin/env bash
# Installs the real FHIR clients that tests/fhir_clients.rs reads the
# gateway's FHIR output with, pinned, from the package registries only:
#   - Python fhirclient 4.4.0 (PyPI), into tools/fhir-clients/.venv, by hash;
#   - FHIR.js (npm `fhir`) and fhir-kit-client, exact versions from
#     package-lock.json, into tools/fhir-clients/node_modules.
# Needs python3 (3.10 or later, with venv) and node 20 or later with npm.
# Nothing is downloaded at test time; run this once (CI runs it in .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

echo "fhir-clients: Python fhirclient into $(pwd)/.venv"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps --only-binary=:all: -r requirements.txt
.venv/bin/python -c 'import fhirclient.models.bundle'

echo "fhir-clients: FHIR.js and fhir-kit-client into $(pwd)/node_modules"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
node --input-type=module -e 'await import("fhir"); await import("fhir-kit-client")'
echo "fhir-clients: installed"
