#!/usr/bin/env bash
# Validates everything under deploy/ (run by .ci/run; run it by hand after
# editing deploy/). Exit status non-zero on any problem.
#
#   yamllint             every YAML file (syntax, duplicate keys, indentation)
#   kubectl kustomize    renders deploy/k8s, deploy/replicated and
#                        deploy/k8s-extract (run/, merge/, volumes/;
#                        and checks what they reference)
#   kubernetes-validate  the rendered objects against the Kubernetes
#                        $K8S_VERSIONS OpenAPI schemas, strict (unknown fields fail)
#   check_crds.py        custom resources (the CloudNativePG Cluster) against
#                        the CRD schemas vendored in deploy/schemas, as strictly
#   nginx -t             the ingress's hash key map (deploy/replicated/affinity)
#   promtool             alert rules (check rules), their unit tests (test
#                        rules), and every dashboard query's PromQL
#   check_deploy.py      what no tool above knows (see its docstring): the
#                        pod's view of the gateway config, the collector
#                        config's structure against the components' keys,
#                        the dashboard's JSON model, metric names against
#                        the gateway's source, the extract's Jobs and claims
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
PY_REQS=(kubernetes-validate==1.37.0 yamllint==1.38.0 jsonschema==4.26.0 PyYAML 'tomli; python_version < "3.11"')
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
# deploy/k8s (the layout without the audit store) and deploy/replicated
# (with the shared audit store and cache affinity), each as kustomize
# renders it; custom resources are checked against deploy/schemas, the rest
# against Kubernetes' own schemas.
step "check_crds.py --self-test (the strict validation refuses what it must)"
"$PY" deploy/tools/check_crds.py --self-test || bad "check_crds.py --self-test"
replicated=""
extract=""
manifests=()
if [ ${#KUSTOMIZE[@]} -gt 0 ]; then
    for target in deploy/k8s deploy/replicated deploy/k8s-extract/run deploy/k8s-extract/merge deploy/k8s-extract/volumes; do
        name=${target#deploy/}
        out="$WORK/rendered-${name//\//-}.yaml"
        step "render $target (${KUSTOMIZE[*]})"
        if "${KUSTOMIZE[@]}" "$target" >"$out"; then
            step "check_crds.py: the custom resources of $target against deploy/schemas"
            "$PY" deploy/tools/check_crds.py "$out" --standard-out "$out.std" || bad "check_crds.py ($target)"
            manifests+=("$out.std")
            if [ "$target" = deploy/replicated ]; then replicated=$out; fi
            case $target in deploy/k8s-extract*) { echo ---; cat "$out"; } >>"$WORK/rendered-extract-all.yaml" && extract=$WORK/rendered-extract-all.yaml ;; esac
        else
            bad "kustomize could not render $target"
        fi
    done
else
    echo "notice: neither kubectl nor kustomize found: validating deploy/k8s/*.yaml and deploy/replicated's and deploy/k8s-extract's resources file by file (generated ConfigMaps, patches and the overlay's own checks are skipped)"
    mapfile -t files < <(find deploy/k8s -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml | sort
        for d in deploy/replicated/*/ deploy/k8s-extract/*/; do
            [ -f "$d/kustomization.yaml" ] || continue
            "$PY" -c 'import sys, yaml; d = sys.argv[1]; print("\n".join(d + r for r in yaml.safe_load(open(d + "kustomization.yaml")).get("resources", [])))' "$d"
        done)
    "$PY" deploy/tools/check_crds.py "${files[@]}" --standard-out "$WORK/standard.yaml" || bad "check_crds.py"
    manifests=("$WORK/standard.yaml")
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

# --- the ingress's hash key ----------------------------------------------------
# patient-key.nginx.conf as nginx reads it: in an http block, with an
# upstream hashed on the key it defines (as deploy/bench/affinity.py runs it).
NGINX=$(command -v nginx || true)
if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
if [ -n "$NGINX" ]; then
    step "nginx -t: deploy/replicated/affinity/patient-key.nginx.conf"
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EOF
pid $WORK/nginx/nginx.pid;
error_log stderr warn;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    fastcgi_temp_path $WORK/nginx;
    uwsgi_temp_path $WORK/nginx;
    scgi_temp_path $WORK/nginx;
    include $PWD/deploy/replicated/affinity/patient-key.nginx.conf;
    upstream icr { hash \$icr_patient_key consistent; server 127.0.0.1:1; server 127.0.0.1:2; }
    server { listen 127.0.0.1:1; location / { proxy_pass http://icr; } }
}
EOF
    "$NGINX" -t -q -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" || bad "nginx -t (patient-key.nginx.conf)"
else
    echo "notice: no nginx: deploy/replicated/affinity/patient-key.nginx.conf not checked by nginx"
fi

# --- deploy/ as a whole ------------------------------------------------------
step "check_deploy.py (pod layout, collector config, dashboard, metric names)"
"$PY" deploy/tools/check_deploy.py --promql-out "$WORK/dashboard-queries.yaml" ${replicated:+--replicated "$replicated"} ${extract:+--extract "$extract"} || bad "check_deploy.py"

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
    if [ -n "$replicated" ]; then
        # HOSTNAME as the StatefulSet's first pod has it (the replica id).
        step "icr check-config on deploy/replicated's config as its pod icr-0 sees it (CloudNativePG's Secrets stood in for)"
        "$PY" deploy/tools/check_deploy.py --replicated "$replicated" --assemble "$WORK/etc-icr-replicated" \
            && HOSTNAME=icr-0 "$ICR" check-config --config "$WORK/etc-icr-replicated" || bad "icr check-config (deploy/replicated)"
    fi
    if [ -n "$extract" ]; then
        step "icr check-config on deploy/k8s-extract's config as an extract pod sees it"
        "$PY" deploy/tools/check_deploy.py --extract "$extract" --assemble "$WORK/etc-icr-extract" \
            && "$ICR" check-config --config "$WORK/etc-icr-extract" || bad "icr check-config (deploy/k8s-extract)"
    fi
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
