#!/usr/bin/env bash
# Installs what tests/browser.rs injects into the viewer's pages, pinned,
# from npm only: axe-core, the exact version in package-lock.json (checked
# by its integrity hash), into tools/browser/node_modules. Chromium and
# chromedriver come from the distribution's packages (.ci/run installs
# them). Needs node 20 or later with npm. Nothing is downloaded at test
# time; run this once (CI runs it in .ci/run).
set -euo pipefail
cd "$(dirname "$0")"

echo "browser: axe-core into $(pwd)/node_modules"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
test -s node_modules/axe-core/axe.min.js
echo "browser: axe-core $(node -p 'require("axe-core/package.json").version') installed"
