#!/usr/bin/env bash
# Validates everything under deploy/ (run by .ci/run; run it by hand after
# editing deploy/). Exit status non-zero on any problem.
#
#   yamllint             every YAML file (syntax, duplicate keys, indentation)
#   kubectl kustomize    renders deploy/k8s (and checks what it references)
#   kubernetes-validate  the rendered objects against the Kubernetes
#                        $K8S_VERSIONS OpenAPI schemas, strict (unknown fields fail)
#   promtool             alert rules (check rules), their unit tests (test
#                        rules), and every dashboard query's PromQL
#   check_deploy.py      what no tool above knows (see its docstring): the
#                        pod's view of the gateway config, the collector
#                        config's structure against the components' keys,
#                        the dashboard's JSON model, metric names against
#                        the gateway's source
#
# Tools are installed once under $ICR_DEPLOY_TOOLS (default
# /tmp/icr-deploy-tools): a Python venv with pinned PyPI packages, and
# promtool taken out of Debian's prometheus package (apt-get download: no
# service is installed or started). promtool or kubectl already on PATH are
# used as they are. Without kubectl (or kustomize) the manifests are
# validated file by file instead of rendered, with a notice.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=${ICR_DEPLOY_TOOLS:-/tmp/icr-deploy-tools}
K8S_VERSIONS=${K8S_VERSIONS:-"1.30.0 1.34.0"}
PY_REQS=(kubernetes-validate==1.37.0 yamllint==1.38.0 PyYAML 'tomli; python_version < "3.11"')
started=$SECONDS
fail=0
step() { echo "-- $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# --- tools -------------------------------------------------------------------
mkdir -p "$TOOLS"
VENV=$TOOLS/venv
stamp="$VENV/.reqs-$(printf '%s\n' "${PY_REQS[@]}" | sha256sum | cut -c1-12)"
if [ ! -e "$stamp" ]; then
    step "installing Python tools into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_REQS[@]}"
    touch "$stamp"
fi
PY=$VENV/bin/python

PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
    PROMTOOL=$TOOLS/promtool
    if [ ! -x "$PROMTOOL" ]; then
        step "fetching promtool from Debian's prometheus package"
        deb=$TOOLS/deb
        rm -rf "$deb" && mkdir -p "$deb"
        # apt-get download runs as _apt where it can; the directory must be
        # writable for it (and for root, which it falls back to).
        chmod 0777 "$deb"
        if ! (cd "$deb" && apt-get download -q prometheus >/dev/null 2>&1); then
            apt-get update -qq
            (cd "$deb" && apt-get download -q prometheus >/dev/null)
        fi
        dpkg-deb -x "$deb"/prometheus_*.deb "$deb/x"
        install -m 0755 "$deb/x/usr/bin/promtool" "$PROMTOOL"
        rm -rf "$deb"
    fi
fi

KUSTOMIZE=()
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    KUSTOMIZE=(kubectl kustomize)
elif command -v kustomize >/dev/null 2>&1; then
    KUSTOMIZE=(kustomize build)
fi

echo "tools: $("$VENV/bin/kubernetes-validate" --version 2>&1 | tail -1 | sed 's/^/kubernetes-validate /'), $("$VENV/bin/yamllint" --version), $("$PROMTOOL" --version 2>&1 | head -1)${KUSTOMIZE:+, ${KUSTOMIZE[*]}}"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# --- YAML --------------------------------------------------------------------
step "yamllint"
mapfile -t yamls < <(find deploy -name '*.yaml' -o -name '*.yml' | sort)
"$VENV/bin/yamllint" --strict -c deploy/yamllint.yaml -f parsable "${yamls[@]}" || bad "yamllint"

# --- Kubernetes --------------------------------------------------------------
if [ ${#KUSTOMIZE[@]} -gt 0 ]; then
    step "render deploy/k8s (${KUSTOMIZE[*]})"
    if "${KUSTOMIZE[@]}" deploy/k8s >"$WORK/rendered.yaml"; then
        manifests=("$WORK/rendered.yaml")
    else
        bad "kustomize could not render deploy/k8s"
        manifests=()
    fi
else
    echo "notice: neither kubectl nor kustomize found: validating deploy/k8s/*.yaml file by file (generated ConfigMaps are not checked)"
    mapfile -t manifests < <(find deploy/k8s -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml | sort)
fi
for v in $K8S_VERSIONS; do
    step "kubernetes-validate --strict, Kubernetes $v"
    if [ ${#manifests[@]} -gt 0 ]; then
        # It exits 0 on a resource whose kind it has no schema for (a
        # warning): treat every warning as a failure, too.
        out=$("$VENV/bin/kubernetes-validate" --strict -k "$v" "${manifests[@]}" 2>&1) || { echo "$out"; bad "kubernetes-validate ($v)"; continue; }
        if grep -qE '^(WARN|ERROR)' <<<"$out"; then
            echo "$out"
            bad "kubernetes-validate ($v)"
        else
            echo "$(grep -c '^INFO' <<<"$out") objects valid"
        fi
    fi
done

# --- deploy/ as a whole ------------------------------------------------------
step "check_deploy.py (pod layout, collector config, dashboard, metric names)"
"$PY" deploy/tools/check_deploy.py --promql-out "$WORK/dashboard-queries.yaml" || bad "check_deploy.py"

# --- the gateway's own config loader -------------------------------------------
# `icr check-config` loads the directory exactly as `icr serve` would. Uses a
# binary already built (ICR_BIN, target/debug/icr or target/release/icr);
# none is built here.
ICR=${ICR_BIN:-}
for b in target/debug/icr target/release/icr; do
    if [ -z "$ICR" ] && [ -x "$b" ]; then ICR=$b; fi
done
if [ -n "$ICR" ] && "$ICR" check-config --help >/dev/null 2>&1; then
    step "icr check-config on deploy/k8s/config as the pod sees it ($ICR)"
    "$PY" deploy/tools/check_deploy.py --assemble "$WORK/etc-icr" \
        && "$ICR" check-config --config "$WORK/etc-icr" || bad "icr check-config"
else
    echo "notice: no icr binary with check-config (cargo build -p icr, or ICR_BIN=...): the gateway's own config check skipped"
fi

# --- Prometheus --------------------------------------------------------------
step "promtool check rules deploy/prometheus/alerts.yaml"
"$PROMTOOL" check rules deploy/prometheus/alerts.yaml || bad "promtool check rules"
step "promtool test rules deploy/prometheus/alerts.test.yaml"
(cd deploy/prometheus && "$PROMTOOL" test rules alerts.test.yaml) || bad "promtool test rules"
if [ -s "$WORK/dashboard-queries.yaml" ]; then
    step "promtool: the dashboard's queries parse as PromQL"
    "$PROMTOOL" check rules "$WORK/dashboard-queries.yaml" || bad "dashboard PromQL"
fi

# --- shell ---------------------------------------------------------------------
bash -n deploy/validate.sh || bad "bash -n deploy/validate.sh"

echo "deploy validation: $([ $fail = 0 ] && echo ok || echo FAILED) in $((SECONDS - started)) s"
exit $fail
