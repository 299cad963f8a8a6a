#!/usr/bin/env bash
# Installs the real OpenID provider that tests/viewer_oidc.rs signs in to the
# viewer with: panva's oidc-provider, the exact version in package-lock.json,
# into tools/oidc-provider/node_modules, from the npm registry only.
# Needs node 20.19 or later with npm (the package's authors support 22 LTS
# and later; on 20 it warns and works). Nothing is downloaded at test time;
# run this once (CI runs it in .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

echo "oidc-provider: into $(pwd)/node_modules"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
node --input-type=module -e 'await import("oidc-provider")'
echo "oidc-provider: installed"
