#!/usr/bin/env bash
# The gateway's load benchmark, with nginx beside it: one command on a fresh
# clone. Builds the release binary, installs the load generator (oha, from
# crates.io) and nginx (Debian) if they are missing, then runs load.py.
# Figures go to stdout and target/load-bench/ (report.md, results.json);
# BENCHMARKS.md says how to read them. Arguments go to load.py
# (e.g. --seconds 5 --rates 50,100 for a quick look; --short for the
# issue-14 targets in under three minutes; --smoke for CI).
# ICR_BENCH_PROFILE=dev measures debug builds: only for the CI smoke run,
# which checks that the benchmark runs, not what it measures.
set -euo pipefail
cd "$(dirname "$0")/../.."

TOOLS=${ICR_BENCH_TOOLS:-/tmp/icr-bench-tools}
OHA_VERSION=1.16.0
export CARGO_INCREMENTAL=0

if command -v oha >/dev/null 2>&1; then
    OHA=$(command -v oha)
else
    OHA=$TOOLS/bin/oha
    if [[ ! -x $OHA ]]; then
        echo "== installing oha $OHA_VERSION into $TOOLS (once)" >&2
        cargo install oha --version "$OHA_VERSION" --locked --root "$TOOLS" -q
    fi
fi

if command -v nginx >/dev/null 2>&1; then
    NGINX=$(command -v nginx)
elif [[ -x /usr/sbin/nginx ]]; then
    NGINX=/usr/sbin/nginx
else
    echo "== installing nginx (Debian)" >&2
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nginx-light >/dev/null
    # The package starts its own nginx on port 80; this benchmark runs its own.
    $SUDO service nginx stop >/dev/null 2>&1 || true
    NGINX=/usr/sbin/nginx
fi

PROFILE=${ICR_BENCH_PROFILE:-release}
case $PROFILE in
    release) OUT_DIR=release ;;
    dev) OUT_DIR=debug ;;
    *) echo "ICR_BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac
echo "== building the gateway ($PROFILE)" >&2
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/$OUT_DIR
# The gateway measured is the one deployed, without the simulated region
# (as deploy/Dockerfile builds it); the simulators and tokens come from the
# demo build.
cargo build --profile "$PROFILE" --locked -q --no-default-features --bin icr
cp "$BIN/icr" "$BIN/icr-serve"
cargo build --profile "$PROFILE" --locked -q --bin icr
cargo build --profile "$PROFILE" --locked -q -p icr-sim --example people

exec python3 deploy/bench/load.py \
    --icr "$BIN/icr" \
    --icr-serve "$BIN/icr-serve" \
    --people "$BIN/examples/people" \
    --oha "$OHA" --nginx "$NGINX" "$@"
