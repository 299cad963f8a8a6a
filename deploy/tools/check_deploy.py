#!/usr/bin/env python3
"""Checks of deploy/ that no off-the-shelf validator makes (deploy/validate.sh).

- kustomizations: every listed resource and generator file exists;
- the pod's view of the gateway config: every file gateway.toml names is
  projected into /etc/icr, every source file is both generated and
  projected, the audit directory is a subdirectory of a writable volume, the
  audit anchor file is on another writable volume, the port and probes
  match;
- the OpenTelemetry Collector config: its structure (top-level sections,
  component ids, the keys each component accepts, pipelines referring to
  defined components of a type that supports the signal, storage extensions
  enabled), the audit pipeline never going to `debug`, every ${env:X} set in
  the sidecar, every path it reads or writes mounted in the sidecar;
- the Grafana dashboard: the JSON model's required fields, unique panel
  ids, layout on the 24-column grid, data sources and template variables;
- metric names: every icr_* metric used by the alerts and the dashboard is
  exported by the gateway's source (crates/, src/), or is a planned one the
  dashboard marks as such (alerts may not use planned metrics).
- the replicated overlay (deploy/replicated, rendered; --replicated): its
  gateway.toml is the base's plus [audit_store], whose url_file is
  projected from the CloudNativePG Cluster's `-app` Secret key `uri`; the
  Cluster has three instances; the replica id is the pod's name; the
  gateway may reach the Cluster's primary on 5432 and the Cluster's pods
  admit it; the Ingress hashes on the key patient-key.nginx.conf defines,
  and sends to the gateway's Service.
- the population-health extract (deploy/k8s-extract: run/, merge/ and
  volumes/, rendered; --extract): its gateway config is deploy/k8s's with
  the cache off, same policy and sources; the Indexed Job's shard index
  comes from the Job controller and N equals completions, the run id and
  date are one for every shard; the project key is an item of a Secret that
  is not in the repository, mounted read-only; the cohort and opt-out list
  read-only on the input claim; the output, the audit and its anchors each
  on their own claim, the audit per shard; the merge Job writes to the
  same output claim and mounts nothing else; every container as
  restricted Pod Security admits it.

It also writes every dashboard query, template variables substituted, as a
Prometheus rule file (argument --promql-out) for `promtool check rules` to
parse.

Exit status 1 with one line per problem; 0 when all is well.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

# Metrics that the dashboard may show before the gateway exports them (issue
# 6: per-route request counts and latency, per-source latency). Panels using
# them must say "Planned" in their description. Alerts may not use them.
PLANNED_METRICS: set[str] = set()

problems: list[str] = []
notes: list[str] = []


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


def rel(p: Path) -> str:
    try:
        return str(p.relative_to(ROOT))
    except ValueError:
        return str(p)


def load_yaml_docs(path: Path) -> list:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# ---------------------------------------------------------------------------
# Kustomizations


def check_kustomizations() -> None:
    for kfile in sorted(DEPLOY.rglob("kustomization.yaml")):
        base = kfile.parent
        k = load_yaml_docs(kfile)[0]
        for r in k.get("resources", []):
            target = (base / r).resolve()
            if target.is_dir():
                if not (target / "kustomization.yaml").is_file():
                    problem(rel(kfile), f"resource {r} is a directory without kustomization.yaml")
            elif not target.is_file():
                problem(rel(kfile), f"resource {r} does not exist")
        for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
            for f in gen.get("files", []):
                src = f.split("=", 1)[-1]
                target = (base / src).resolve()
                if not target.is_file():
                    problem(rel(kfile), f"generator {gen.get('name')}: file {src} does not exist")
                elif base.resolve() not in target.parents:
                    problem(rel(kfile), f"generator {gen.get('name')}: {src} is outside the kustomization root (kustomize refuses it)")
        for c in k.get("components", []):
            target = (base / c).resolve()
            ck = target / "kustomization.yaml"
            if not ck.is_file() or load_yaml_docs(ck)[0].get("kind") != "Component":
                problem(rel(kfile), f"component {c} is not a directory with a kind: Component kustomization.yaml")
        for patch in k.get("patches", []):
            if "path" in patch and not (base / patch["path"]).is_file():
                problem(rel(kfile), f"patch {patch['path']} does not exist")
        # Every manifest beside the kustomization is listed (a file left out
        # is silently not applied).
        listed = {(base / r).resolve() for r in k.get("resources", [])}
        for y in sorted(base.glob("*.yaml")):
            if y.name == "kustomization.yaml" or y.resolve() in listed:
                continue
            docs = load_yaml_docs(y)
            if docs and isinstance(docs[0], dict) and "apiVersion" in docs[0] and "kind" in docs[0]:
                problem(rel(kfile), f"{y.name} is a Kubernetes manifest but not listed in resources")


def k8s_objects() -> dict[tuple[str, str], dict]:
    objs = {}
    k = load_yaml_docs(K8S / "kustomization.yaml")[0]
    for r in k.get("resources", []):
        p = K8S / r
        if p.is_file():
            for d in load_yaml_docs(p):
                objs[(d["kind"], d["metadata"]["name"])] = d
    return objs


def generator(kdir: Path, name: str) -> dict[str, Path]:
    """Key -> file of a configMapGenerator."""
    k = load_yaml_docs(kdir / "kustomization.yaml")[0]
    for gen in k.get("configMapGenerator", []):
        if gen["name"] == name:
            out = {}
            for f in gen.get("files", []):
                key, _, src = f.rpartition("=")
                out[key or Path(src).name] = kdir / src
            return out
    return {}


# ---------------------------------------------------------------------------
# The gateway in its pod


def mounts_of(container: dict) -> list[dict]:
    return container.get("volumeMounts", [])


def under_mount(path: str, container: dict, writable: bool | None = None) -> dict | None:
    best = None
    for m in mounts_of(container):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                best = m
    if best is not None and writable is not None and bool(best.get("readOnly", False)) == writable:
        return None
    return best


def check_security(where: str, spec: dict) -> None:
    """Every container of a pod spec, init containers too, as Pod Security
    "restricted" admits it: non-root, no privilege escalation, read-only
    root filesystem, all capabilities dropped, seccomp RuntimeDefault."""
    pod_sc = spec.get("securityContext", {})
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(where, f"{name}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(where, f"{name}: readOnlyRootFilesystem must be true")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problem(where, f"{name}: capabilities must drop ALL")
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problem(where, f"{name}: runAsNonRoot must be true")
        seccomp = sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problem(where, f"{name}: seccompProfile must be RuntimeDefault")


def check_gateway_pod(objs: dict) -> tuple[dict, dict] | None:
    where = "deploy/k8s/statefulset.yaml"
    sts = objs.get(("StatefulSet", "icr"))
    if sts is None:
        problem("deploy/k8s", "no StatefulSet icr")
        return None
    spec = sts["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec.get("containers", [])}
    inits = {c["name"]: c for c in spec.get("initContainers", [])}
    gw = containers.get("icr")
    col = inits.get("otel-collector") or containers.get("otel-collector")
    if gw is None or col is None:
        problem(where, "needs the containers icr and otel-collector")
        return None
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    claims = {c["metadata"]["name"] for c in sts["spec"].get("volumeClaimTemplates", [])}

    check_security(where, spec)
    if col in inits.values() and col.get("restartPolicy") != "Always":
        problem(where, "otel-collector as an init container must be a native sidecar (restartPolicy: Always)")

    # The config directory: args --config DIR, a projected volume there.
    args = gw.get("args", [])
    if "--config" not in args:
        problem(where, "icr: args must include --config DIR")
        return None
    config_dir = args[args.index("--config") + 1]
    m = under_mount(config_dir, gw)
    if m is None or m["mountPath"].rstrip("/") != config_dir.rstrip("/"):
        problem(where, f"icr: nothing mounted at the config directory {config_dir}")
        return None
    vol = volumes.get(m["name"], {})
    projected: dict[str, tuple[str, str, str]] = {}  # path -> (kind, name, key)
    for s in vol.get("projected", {}).get("sources", []):
        for kind in ("configMap", "secret"):
            if kind in s:
                items = s[kind].get("items")
                if not items:
                    problem(where, f"config volume: {kind} {s[kind]['name']} must list items (paths are relative to {config_dir})")
                for it in items or []:
                    if it["path"] in projected:
                        problem(where, f"config volume: {it['path']} projected twice")
                    projected[it["path"]] = (kind, s[kind]["name"], it["key"])
    if not projected:
        problem(where, f"the config volume {m['name']} must be a projected volume")

    # ConfigMap keys: generated from deploy/k8s/config; each projected.
    gen = generator(K8S, "icr-config")
    cm_keys = {key for (kind, name, key) in projected.values() if kind == "configMap" and name == "icr-config"}
    for key in gen:
        if key not in cm_keys:
            problem(where, f"ConfigMap icr-config key {key} is generated but not projected into {config_dir}")
    for key in cm_keys - set(gen):
        problem(where, f"projects ConfigMap icr-config key {key}, which deploy/k8s/kustomization.yaml does not generate")
    for f in sorted((K8S / "config" / "sources.d").glob("*.toml")):
        if gen.get(f.name) != K8S / "config" / "sources.d" / f.name:
            problem("deploy/k8s/kustomization.yaml", f"config/sources.d/{f.name} is not in the icr-config generator")
        if projected.get(f"sources.d/{f.name}", ("", "", ""))[2] != f.name:
            problem(where, f"sources.d/{f.name} is not projected into {config_dir}/sources.d")
    secret = objs.get(("Secret", "icr-secrets"), {})
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for path, (kind, name, key) in projected.items():
        if kind == "secret" and name == "icr-secrets" and key not in secret_keys:
            problem(where, f"projects Secret icr-secrets key {key}, which secret.yaml does not have")

    # gateway.toml against that layout.
    gfile = K8S / "config" / "gateway.toml"
    try:
        g = tomllib.loads(gfile.read_text())
    except Exception as e:  # noqa: BLE001
        problem(rel(gfile), f"not valid TOML: {e}")
        return None

    def in_config(p: str, what: str) -> None:
        path = p if p.startswith("/") else f"{config_dir.rstrip('/')}/{p}"
        if path.startswith(config_dir.rstrip("/") + "/"):
            if path[len(config_dir.rstrip("/")) + 1:] not in projected:
                problem(rel(gfile), f"{what} {p}: not projected into {config_dir}")
        elif under_mount(path, gw) is None:
            problem(rel(gfile), f"{what} {p}: not mounted in the icr container")

    in_config(g.get("access", {}).get("policy", "policy.toml"), "[access] policy")
    for iss in g.get("auth", {}).get("issuer", []):
        if "jwks" in iss:
            in_config(iss["jwks"], "[[auth.issuer]] jwks")
        for key in iss.get("key", []):
            in_config(key["pem"], "[[auth.issuer.key]] pem")
        if "signing_key" in iss:
            problem(rel(gfile), "[[auth.issuer]] signing_key is for the demo only")
    if "objections" in g.get("access", {}):
        in_config(g["access"]["objections"], "[access] objections")
    for k in ("cert", "key", "client_ca"):
        if k in g.get("tls", {}):
            in_config(g["tls"][k], f"[tls] {k}")
    if g.get("sources_dir", "sources.d") != "sources.d":
        problem(rel(gfile), "sources_dir must be sources.d (the projected paths)")
    for f in sorted((K8S / "config" / "sources.d").glob("*.toml")):
        try:
            s = tomllib.loads(f.read_text())
            for k in ("id", "kind", "endpoint"):
                if k not in s:
                    problem(rel(f), f"no {k}")
        except Exception as e:  # noqa: BLE001
            problem(rel(f), f"not valid TOML: {e}")
    try:
        tomllib.loads((K8S / "config" / "policy.toml").read_text())
    except Exception as e:  # noqa: BLE001
        problem("deploy/k8s/config/policy.toml", f"not valid TOML: {e}")

    audit_dir = g.get("audit", {}).get("dir")
    if not audit_dir or not audit_dir.startswith("/"):
        problem(rel(gfile), "[audit] dir must be an absolute path on the audit volume")
    else:
        am = under_mount(audit_dir, gw, writable=True)
        if am is None:
            problem(rel(gfile), f"[audit] dir {audit_dir} is not on a writable volume of the icr container")
        else:
            if am["mountPath"].rstrip("/") == audit_dir.rstrip("/"):
                problem(rel(gfile), f"[audit] dir {audit_dir} is a volume's root: its mode is not 0700 (the gateway refuses o+ bits); use a subdirectory")
            if am["name"] not in claims:
                problem(where, f"the audit volume {am['name']} must be a volumeClaimTemplate (one persistent volume per replica)")
            anchor_file = g.get("audit", {}).get("anchor_file")
            if anchor_file is not None:
                an = under_mount(anchor_file, gw, writable=True) if anchor_file.startswith("/") else None
                if an is None:
                    problem(rel(gfile), f"[audit] anchor_file {anchor_file} is not an absolute path on a writable volume of the icr container")
                elif an["name"] == am["name"]:
                    problem(rel(gfile), f"[audit] anchor_file {anchor_file} is on the audit volume {am['name']}: a cut log would take its anchors with it")

    listen = g.get("listen", "127.0.0.1:8080")
    host, _, port = listen.rpartition(":")
    if host in ("127.0.0.1", "localhost", "[::1]"):
        problem(rel(gfile), f"listen {listen}: loopback is unreachable from the Service and the probes")
    ports = {p.get("name"): p["containerPort"] for p in gw.get("ports", [])}
    if int(port) not in ports.values():
        problem(where, f"icr: containerPort does not include {port} (gateway.toml listen)")
    probe_paths = {
        k: gw.get(k, {}).get("httpGet", {}).get("path")
        for k in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    if probe_paths != {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}:
        problem(where, f"icr probes must be startup /healthz, readiness /readyz, liveness /healthz: {probe_paths}")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    pre = gw.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    if grace < pre + 10 + 5:
        problem(where, f"terminationGracePeriodSeconds {grace} < preStop {pre} s + 10 s drain + 5 s for the audit flush")
    for svc in ("icr", "icr-pods"):
        s = objs.get(("Service", svc))
        if s is None:
            problem("deploy/k8s/service.yaml", f"no Service {svc}")
            continue
        for p in s["spec"]["ports"]:
            if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
                problem("deploy/k8s/service.yaml", f"{svc}: targetPort {p['targetPort']} is not a port of the icr container")
    if sts["spec"].get("serviceName") not in {n for (k, n) in objs if k == "Service"}:
        problem(where, "serviceName must name a Service in deploy/k8s")
    if "replicas" in sts["spec"]:
        problem(where, "spec.replicas must be left to the HorizontalPodAutoscaler")
    hpa = objs.get(("HorizontalPodAutoscaler", "icr"))
    if hpa is None or hpa["spec"]["scaleTargetRef"] != {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "icr"}:
        problem("deploy/k8s/hpa.yaml", "must scale the StatefulSet icr")
    pdb = objs.get(("PodDisruptionBudget", "icr"))
    labels = sts["spec"]["template"]["metadata"]["labels"]
    for kind, name in (("PodDisruptionBudget", "icr"), ("NetworkPolicy", "icr")):
        o = objs.get((kind, name))
        sel = (o or {}).get("spec", {}).get("selector" if kind == "PodDisruptionBudget" else "podSelector", {})
        if o is None or not sel.get("matchLabels") or any(labels.get(k) != v for k, v in sel["matchLabels"].items()):
            problem("deploy/k8s", f"{kind} {name} must select the gateway's pods")
    if pdb is not None and hpa is not None and pdb["spec"].get("maxUnavailable", 1) >= hpa["spec"].get("minReplicas", 1):
        problem("deploy/k8s/pdb.yaml", "maxUnavailable must be below the HPA's minReplicas")
    return gw, col


# ---------------------------------------------------------------------------
# The OpenTelemetry Collector


# Keys each component type accepts, from the components' documentation
# (collector-contrib, 0.13x). Only the types this deployment uses: another
# type must be added here, with its keys, before it is used.
COMMON_HTTP_CLIENT = {"endpoint", "tls", "headers", "timeout", "compression", "read_buffer_size",
                      "write_buffer_size", "auth", "proxy_url", "max_idle_conns", "idle_conn_timeout",
                      "disable_keep_alives", "retry_on_failure", "sending_queue", "encoding",
                      "traces_endpoint", "metrics_endpoint", "logs_endpoint", "profiles_endpoint"}
COMPONENT_KEYS: dict[str, dict[str, set[str]]] = {
    "receivers": {
        "otlp": {"protocols"},
        "filelog": {"include", "exclude", "exclude_older_than", "start_at", "multiline", "force_flush_period",
                    "encoding", "preserve_leading_whitespaces", "preserve_trailing_whitespaces",
                    "include_file_name", "include_file_path", "include_file_name_resolved",
                    "include_file_path_resolved", "include_file_owner_name", "include_file_owner_group_name",
                    "include_file_record_number", "poll_interval", "fingerprint_size", "initial_buffer_size",
                    "max_log_size", "max_concurrent_files", "max_batches", "delete_after_read",
                    "acquire_fs_lock", "attributes", "resource", "operators", "storage", "header",
                    "retry_on_failure", "ordering_criteria", "compression"},
        "prometheus": {"config", "target_allocator", "trim_metric_suffixes", "use_start_time_metric",
                       "start_time_metric_regex", "report_extra_scrape_metrics", "api_server"},
    },
    "processors": {
        "memory_limiter": {"check_interval", "limit_mib", "spike_limit_mib", "limit_percentage",
                           "spike_limit_percentage"},
        "batch": {"timeout", "send_batch_size", "send_batch_max_size", "metadata_keys",
                  "metadata_cardinality_limit"},
        "resource": {"attributes"},
    },
    "exporters": {
        "otlphttp": COMMON_HTTP_CLIENT,
        "otlp": {"endpoint", "tls", "headers", "timeout", "compression", "balancer_name", "auth",
                 "keepalive", "retry_on_failure", "sending_queue", "read_buffer_size", "write_buffer_size"},
        "debug": {"verbosity", "sampling_initial", "sampling_thereafter", "use_internal_logger"},
    },
    "extensions": {
        "health_check": {"endpoint", "path", "tls", "response_body", "check_collector_pipeline"},
        "file_storage": {"directory", "timeout", "compaction", "fsync", "create_directory",
                         "directory_permissions"},
    },
    "connectors": {},
}
SIGNALS = {
    "otlp": {"traces", "metrics", "logs"},
    "filelog": {"logs"},
    "prometheus": {"metrics"},
    "otlphttp": {"traces", "metrics", "logs"},
    "debug": {"traces", "metrics", "logs"},
    "memory_limiter": {"traces", "metrics", "logs"},
    "batch": {"traces", "metrics", "logs"},
    "resource": {"traces", "metrics", "logs"},
}
ID_RE = re.compile(r"^([a-z][a-z0-9_]*)(?:/([^/\s]+))?$")
ENV_RE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def walk_strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)
    elif isinstance(node, str):
        yield node


def check_collector(col_container: dict | None, audit_dir: str | None) -> None:
    cfile = DEPLOY / "otel" / "collector.yaml"
    where = rel(cfile)
    docs = load_yaml_docs(cfile)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        problem(where, "must be one YAML mapping")
        return
    c = docs[0]
    for k in c:
        if k not in {"receivers", "processors", "exporters", "extensions", "connectors", "service"}:
            problem(where, f"unknown top-level section {k}")
    defined: dict[str, dict[str, dict]] = {}
    for section, kinds in COMPONENT_KEYS.items():
        defined[section] = {}
        for cid, cfg in (c.get(section) or {}).items():
            m = ID_RE.match(cid)
            if not m:
                problem(where, f"{section}: {cid!r} is not a component id (type[/name])")
                continue
            ctype = m.group(1)
            if ctype not in kinds:
                problem(where, f"{section}: type {ctype} unknown to this check (add its keys to COMPONENT_KEYS)")
                continue
            cfg = cfg or {}
            if not isinstance(cfg, dict):
                problem(where, f"{section}.{cid}: must be a mapping")
                continue
            for key in cfg:
                if key not in kinds[ctype]:
                    problem(where, f"{section}.{cid}: unknown key {key}")
            defined[section][cid] = cfg
    svc = c.get("service") or {}
    for k in svc:
        if k not in {"extensions", "pipelines", "telemetry"}:
            problem(where, f"service: unknown key {k}")
    enabled_ext = svc.get("extensions") or []
    for e in enabled_ext:
        if e not in defined["extensions"]:
            problem(where, f"service.extensions: {e} is not defined")
    for e in defined["extensions"]:
        if e not in enabled_ext:
            problem(where, f"extension {e} is defined but not in service.extensions")
    used = {"receivers": set(), "processors": set(), "exporters": set()}
    pipelines = svc.get("pipelines") or {}
    if not pipelines:
        problem(where, "service.pipelines is empty")
    for pid, p in pipelines.items():
        m = re.match(r"^(traces|metrics|logs)(?:/[^/\s]+)?$", pid)
        if not m:
            problem(where, f"pipeline {pid}: id must be traces|metrics|logs[/name]")
            continue
        signal = m.group(1)
        for k in p:
            if k not in {"receivers", "processors", "exporters"}:
                problem(where, f"pipeline {pid}: unknown key {k}")
        for section in ("receivers", "processors", "exporters"):
            ids = p.get(section) or []
            if section != "processors" and not ids:
                problem(where, f"pipeline {pid}: no {section}")
            if len(set(ids)) != len(ids):
                problem(where, f"pipeline {pid}: a {section[:-1]} listed twice")
            for cid in ids:
                used[section].add(cid)
                if cid not in defined[section]:
                    problem(where, f"pipeline {pid}: {section[:-1]} {cid} is not defined")
                    continue
                ctype = cid.split("/")[0]
                if signal not in SIGNALS.get(ctype, set()):
                    problem(where, f"pipeline {pid}: {cid} does not support {signal}")
        procs = p.get("processors") or []
        if procs and procs[0].split("/")[0] != "memory_limiter":
            problem(where, f"pipeline {pid}: memory_limiter must be the first processor")
        if procs and procs[-1].split("/")[0] != "batch":
            problem(where, f"pipeline {pid}: batch must be the last processor")
        # The audit holds NHS numbers: never to the debug exporter (stdout,
        # i.e. the container log).
        if any(r.split("/")[0] == "filelog" for r in p.get("receivers") or []):
            for e in p.get("exporters") or []:
                if e.split("/")[0] == "debug":
                    problem(where, f"pipeline {pid}: the audit must never go to {e} (container logs)")
    for section in used:
        for cid in defined[section]:
            if cid not in used[section]:
                problem(where, f"{section[:-1]} {cid} is defined but in no pipeline")
    # Storage references.
    for section in ("receivers", "exporters"):
        for cid, cfg in defined[section].items():
            for ref in (cfg.get("storage"), (cfg.get("sending_queue") or {}).get("storage")):
                if ref is not None and ref not in enabled_ext:
                    problem(where, f"{section}.{cid}: storage {ref} is not an enabled extension")
    ml = [cfg for cid, cfg in defined["processors"].items() if cid.split("/")[0] == "memory_limiter"]
    for cfg in ml:
        if not ({"limit_mib", "limit_percentage"} & set(cfg)) or "check_interval" not in cfg:
            problem(where, "memory_limiter needs check_interval and limit_mib or limit_percentage")

    # Against the sidecar that runs it.
    if col_container is None:
        return
    sts = "deploy/k8s/statefulset.yaml"
    env = {e["name"] for e in col_container.get("env", [])}
    for s in walk_strings(c):
        for name in ENV_RE.findall(s):
            if name not in env:
                problem(where, f"${{env:{name}}} is not set in the otel-collector container")
    args = " ".join(col_container.get("args", []) + col_container.get("command", []))
    m = re.search(r"--config[= ](\S+)", args)
    if not m:
        problem(sts, "otel-collector: no --config argument")
    else:
        path = m.group(1)
        mnt = under_mount(path, col_container)
        key = path.rsplit("/", 1)[-1]
        if mnt is None or generator(DEPLOY / "otel", "icr-otel-collector").get(key) != cfile:
            problem(sts, f"otel-collector: --config {path} is not deploy/otel/collector.yaml from the icr-otel-collector ConfigMap")
    for cid, cfg in defined["extensions"].items():
        if cid.split("/")[0] == "file_storage":
            d = cfg.get("directory", "")
            if under_mount(d, col_container, writable=True) is None:
                problem(where, f"{cid}: directory {d} is not a writable mount of the otel-collector container")
        if cid.split("/")[0] == "health_check":
            port = str(cfg.get("endpoint", "")).rpartition(":")[2]
            probe_ports = {col_container.get(p, {}).get("httpGet", {}).get("port") for p in ("startupProbe", "livenessProbe")}
            named = {p["name"]: p["containerPort"] for p in col_container.get("ports", [])}
            resolved = {named.get(p, p) for p in probe_ports}
            if not port.isdigit() or int(port) not in resolved:
                problem(sts, f"otel-collector probes must use the health_check port {port}")
    for cid, cfg in defined["receivers"].items():
        if cid.split("/")[0] == "filelog":
            for pattern in cfg.get("include", []):
                if under_mount(pattern, col_container) is None:
                    problem(where, f"{cid}: {pattern} is not under a mount of the otel-collector container")
                elif under_mount(pattern, col_container, writable=False) is None:
                    problem(sts, f"otel-collector: mount the audit read-only ({pattern})")
                if audit_dir and not pattern.startswith(audit_dir.rstrip("/") + "/"):
                    problem(where, f"{cid}: {pattern} is not in the gateway's [audit] dir {audit_dir}")


# ---------------------------------------------------------------------------
# Grafana


PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table", "bargauge", "state-timeline",
               "status-history", "heatmap", "text", "piechart", "histogram"}
BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                "__range_ms", "__dashboard", "__from", "__to", "__name", "__all"}
VAR_SUBST = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


def dashboard_queries(d: dict):
    for p in d.get("panels", []):
        for q in [p] + p.get("panels", []):
            for t in q.get("targets", []):
                if "expr" in t:
                    yield q, t


def check_dashboard(promql_out: Path | None) -> list[tuple[str, str]]:
    dfile = DEPLOY / "grafana" / "icr-dashboard.json"
    where = rel(dfile)
    try:
        d = json.loads(dfile.read_text())
    except Exception as e:  # noqa: BLE001
        problem(where, f"not valid JSON: {e}")
        return []
    for k, t in (("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                 ("templating", dict), ("time", dict), ("tags", list)):
        if not isinstance(d.get(k), t):
            problem(where, f"{k} missing or not a {t.__name__}")
    if isinstance(d.get("schemaVersion"), int) and not 36 <= d["schemaVersion"] <= 41:
        problem(where, f"schemaVersion {d['schemaVersion']}: expected 36..41 (Grafana 9.4..11)")
    if isinstance(d.get("uid"), str) and not re.match(r"^[A-Za-z0-9_-]{1,40}$", d["uid"]):
        problem(where, "uid must be 1-40 letters, digits, - or _")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ids = set()
    grid: dict[tuple[int, int], int] = {}
    for p in d.get("panels", []):
        pw = f"panel {p.get('id')} ({p.get('title')!r})"
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            problem(where, f"{pw}: id missing or not unique")
        ids.add(p.get("id"))
        if p.get("type") not in PANEL_TYPES:
            problem(where, f"{pw}: unknown type {p.get('type')!r}")
        if not p.get("title"):
            problem(where, f"{pw}: no title")
        gp = p.get("gridPos") or {}
        if not all(isinstance(gp.get(k), int) for k in ("h", "w", "x", "y")):
            problem(where, f"{pw}: gridPos needs integer h, w, x, y")
            continue
        if gp["w"] < 1 or gp["x"] < 0 or gp["x"] + gp["w"] > 24 or gp["h"] < 1:
            problem(where, f"{pw}: gridPos outside the 24-column grid")
        for x in range(gp["x"], gp["x"] + gp["w"]):
            for y in range(gp["y"], gp["y"] + gp["h"]):
                if (x, y) in grid:
                    problem(where, f"{pw}: overlaps panel {grid[(x, y)]}")
                    break
                grid[(x, y)] = p["id"]
            else:
                continue
            break
        if p.get("type") == "row":
            continue
        ds = p.get("datasource") or {}
        if ds.get("type") != "prometheus" or ds.get("uid") != "${datasource}":
            problem(where, f"{pw}: datasource must be the ${{datasource}} Prometheus variable")
        targets = p.get("targets") or []
        if not targets:
            problem(where, f"{pw}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            problem(where, f"{pw}: refIds missing or not unique")
        for t in targets:
            if not t.get("expr"):
                problem(where, f"{pw}: target {t.get('refId')} has no expr")
    if "datasource" not in variables or variables["datasource"].get("type") != "datasource":
        problem(where, "templating needs a datasource variable of type datasource")
    exprs: list[tuple[str, str]] = []
    for p, t in dashboard_queries(d):
        expr = t["expr"]
        for name in re.findall(r"\$\{?(\w+)", expr):
            if name not in variables and name not in BUILTIN_VARS:
                problem(where, f"panel {p.get('id')}: ${name} is not a template variable")
        subst = re.sub(r"\$\{?(\w+)\}?", lambda m: VAR_SUBST.get(m.group(1), ".*"), expr)
        exprs.append((f"panel {p.get('id')} {t.get('refId')}", subst))
        planned = {metric_family(n) for n in metric_names(expr)} & PLANNED_METRICS
        if planned and "planned" not in (p.get("description") or "").lower():
            problem(where, f"panel {p.get('id')} ({p.get('title')!r}) uses planned metric(s) {sorted(planned)} without saying so in its description")
    for v in variables.values():
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            m = re.match(r"^label_values\((\w+),\s*(\w+)\)$", q)
            if not m:
                problem(where, f"variable {v['name']}: query {q!r} is not label_values(metric, label)")
            else:
                exprs.append((f"variable {v['name']}", m.group(1)))
    if promql_out is not None:
        rules = {"groups": [{"name": "dashboard-queries", "rules": [
            {"record": f"dashboard:query_{i}", "expr": e, "labels": {"where": w}}
            for i, (w, e) in enumerate(exprs)]}]}
        promql_out.write_text(yaml.safe_dump(rules, sort_keys=False))
    return exprs


# ---------------------------------------------------------------------------
# Metric names


METRIC_RE = re.compile(r"\b(icr_[a-z0-9_]+)\b")


def metric_names(expr: str) -> set[str]:
    return set(METRIC_RE.findall(expr))


def metric_family(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in PLANNED_METRICS | EXPORTED:
            return name[: -len(suffix)]
    return name


EXPORTED: set[str] = set()


def exported_metrics() -> set[str]:
    found = set()
    for base in ("crates", "adapters", "src"):
        for f in (ROOT / base).rglob("*.rs"):
            if "/tests/" in str(f) or "/target/" in str(f):
                continue
            found |= set(re.findall(r'"(icr_[a-z0-9_]+)', f.read_text(errors="replace")))
    return found


def check_metric_names(dashboard_exprs: list[tuple[str, str]]) -> None:
    EXPORTED.update(exported_metrics())
    if not EXPORTED:
        problem("crates/", "found no icr_* metric names in the gateway's source")
        return
    afile = DEPLOY / "prometheus" / "alerts.yaml"
    for group in load_yaml_docs(afile)[0].get("groups", []):
        for rule in group.get("rules", []):
            for n in metric_names(rule.get("expr", "")):
                fam = metric_family(n)
                if fam in PLANNED_METRICS:
                    problem(rel(afile), f"{rule.get('alert')}: {n} is a planned metric, not exported yet")
                elif fam not in EXPORTED:
                    problem(rel(afile), f"{rule.get('alert')}: {n} is not exported by the gateway (crates/, src/)")
            labels = rule.get("labels", {})
            if "alert" in rule and labels.get("severity") not in {"critical", "warning", "info"}:
                problem(rel(afile), f"{rule['alert']}: severity must be critical, warning or info")
            if "alert" in rule and not {"summary", "description"} <= set(rule.get("annotations", {})):
                problem(rel(afile), f"{rule['alert']}: needs summary and description annotations")
    for where, expr in dashboard_exprs:
        for n in metric_names(expr):
            fam = metric_family(n)
            if fam not in EXPORTED and fam not in PLANNED_METRICS:
                problem("deploy/grafana/icr-dashboard.json", f"{where}: {n} is not exported by the gateway (crates/, src/)")
    for n in sorted(PLANNED_METRICS & EXPORTED):
        notes.append(f"planned metric {n} is now exported: drop it from PLANNED_METRICS in {rel(Path(__file__))} and its panels' 'Planned' note")


def assemble(out: Path) -> int:
    """Writes the gateway's config directory as the pod sees it (the
    projected volume), for `icr check-config`. The Secret holds placeholders:
    its JWKS is stood in for by config/example's (a public key)."""
    objs = k8s_objects()
    sts = objs[("StatefulSet", "icr")]
    spec = sts["spec"]["template"]["spec"]
    gw = next(c for c in spec["containers"] if c["name"] == "icr")
    config_dir = gw["args"][gw["args"].index("--config") + 1]
    mount = next(m for m in gw["volumeMounts"] if m["mountPath"].rstrip("/") == config_dir.rstrip("/"))
    vol = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    gen = generator(K8S, "icr-config")
    stand_ins = {"idp.jwks.json": ROOT / "config" / "example" / "keys" / "idp.jwks.json"}
    for s in vol["projected"]["sources"]:
        for kind in ("configMap", "secret"):
            for it in s.get(kind, {}).get("items", []):
                src = gen[it["key"]] if kind == "configMap" else stand_ins[it["key"]]
                dst = out / it["path"]
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(src.read_bytes())
    return 0


# ---------------------------------------------------------------------------
# The replicated overlay (deploy/replicated)


REPLICATED = DEPLOY / "replicated"
# What stands in for CloudNativePG's generated Secret in `icr check-config`.
STORE_URI_STAND_IN = "postgresql://icr_audit:stand-in@icr-audit-store-rw.icr:5432/icr_audit\n"
# ... and for its CA's certificate: a throwaway self-signed certificate
# (its key was discarded), so that check-config reads a real PEM file.
STORE_CA_STAND_IN = DEPLOY / "tools" / "stand-in-store-ca.pem"


def rendered_objects(path: Path) -> dict[tuple[str, str], dict]:
    """(kind, name) -> object of a rendered kustomization; generated
    ConfigMaps by their name without the hash suffix."""
    objs = {}
    for d in load_yaml_docs(path):
        name = d["metadata"]["name"]
        objs[(d["kind"], unhashed(name) if d["kind"] == "ConfigMap" else name)] = d
    return objs


def unhashed(name: str) -> str:
    """A generated ConfigMap's name without the hash kustomize appends."""
    return name[:-11] if re.search(r"-[a-z0-9]{10}$", name) else name


def gateway_container(sts: dict) -> tuple[dict, dict, str]:
    """The pod spec, the icr container and its config directory."""
    spec = sts["spec"]["template"]["spec"]
    gw = next(c for c in spec["containers"] if c["name"] == "icr")
    return spec, gw, gw["args"][gw["args"].index("--config") + 1]


def projected_items(spec: dict, gw: dict, config_dir: str) -> dict[str, tuple[str, str, str]]:
    """path under the config directory -> (kind, object name, key)."""
    mount = next(m for m in gw["volumeMounts"] if m["mountPath"].rstrip("/") == config_dir.rstrip("/"))
    vol = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    out = {}
    for s in vol["projected"]["sources"]:
        for kind in ("configMap", "secret"):
            for it in s.get(kind, {}).get("items", []):
                name = s[kind]["name"]
                out[it["path"]] = (kind, unhashed(name) if kind == "configMap" else name, it["key"])
    return out


def check_replicated(rendered: Path) -> None:
    where = "deploy/replicated"
    objs = rendered_objects(rendered)
    base_toml = (K8S / "config" / "gateway.toml").read_text()
    gfile = REPLICATED / "audit-store" / "gateway.toml"
    text = gfile.read_text()
    if not text.startswith(base_toml):
        problem(rel(gfile), "must be deploy/k8s/config/gateway.toml as it is, with [audit_store] added after it")
    cm = objs.get(("ConfigMap", "icr-config"), {}).get("data", {})
    if cm.get("gateway.toml") != text:
        problem(where, "the rendered ConfigMap icr-config does not hold audit-store/gateway.toml (configMapGenerator behavior: merge)")
    try:
        store = tomllib.loads(text).get("audit_store")
    except Exception as e:  # noqa: BLE001
        problem(rel(gfile), f"not valid TOML: {e}")
        return
    if not store or "url_file" not in store:
        problem(rel(gfile), "no [audit_store] url_file")
        return
    clusters = [o for (k, _), o in objs.items() if k == "Cluster"]
    if len(clusters) != 1:
        problem(where, f"needs exactly one CloudNativePG Cluster, found {len(clusters)}")
        return
    cluster = clusters[0]
    cname = cluster["metadata"]["name"]
    if cluster["spec"].get("instances") != 3:
        problem(rel(REPLICATED / "audit-store" / "cluster.yaml"), "the audit store runs three instances (a primary and two replicas)")
    sts = objs.get(("StatefulSet", "icr"))
    if sts is None:
        problem(where, "no StatefulSet icr")
        return
    spec, gw, config_dir = gateway_container(sts)
    items = projected_items(spec, gw, config_dir)
    url_file = store["url_file"]
    rel_path = url_file[len(config_dir.rstrip("/")) + 1:] if url_file.startswith(config_dir.rstrip("/") + "/") else url_file
    if items.get(rel_path) != ("secret", f"{cname}-app", "uri"):
        problem(where, f"[audit_store] url_file {url_file} must be projected from Secret {cname}-app key uri (CloudNativePG's connection URL), found {items.get(rel_path)}")
    ca_file = store.get("ca_file")
    if not ca_file:
        problem(rel(gfile), "no [audit_store] ca_file: the store's connections must be TLS, the server verified against the cluster's CA")
    elif items.get(ca_file) != ("secret", f"{cname}-ca", "ca.crt"):
        problem(where, f"[audit_store] ca_file {ca_file} must be projected from Secret {cname}-ca key ca.crt (CloudNativePG's CA), found {items.get(ca_file)}")
    hba = cluster["spec"].get("postgresql", {}).get("pg_hba", [])
    if not any(re.fullmatch(r"hostnossl\s+all\s+all\s+all\s+reject", l.strip()) for l in hba):
        problem(rel(REPLICATED / "audit-store" / "cluster.yaml"), "pg_hba must refuse connections without TLS (hostnossl all all all reject)")
    if "replica" not in store:
        env = {e["name"]: e for e in gw.get("env", [])}
        ref = env.get("HOSTNAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if ref != "metadata.name":
            problem(where, "icr: HOSTNAME (the replica id in the store) must be set from metadata.name")
    # Network: the gateway may reach the primary on 5432, the Cluster admits it.
    labels = sts["spec"]["template"]["metadata"]["labels"]
    np = objs.get(("NetworkPolicy", "icr"), {})
    to_store = [r for r in np.get("spec", {}).get("egress", [])
                if any(t.get("podSelector", {}).get("matchLabels", {}).get("cnpg.io/cluster") == cname
                       for t in r.get("to", []))]
    if not to_store:
        problem(where, f"NetworkPolicy icr: no egress to the pods of Cluster {cname}")
    for r in to_store:
        ports = [(p.get("protocol", "TCP"), p.get("port")) for p in r.get("ports", [])]
        if ports != [("TCP", 5432)]:
            problem(where, f"NetworkPolicy icr: egress to Cluster {cname} must be TCP 5432 only, not {ports}")
    admitted = False
    for (k, _), o in objs.items():
        if k != "NetworkPolicy" or o["spec"].get("podSelector", {}).get("matchLabels", {}).get("cnpg.io/cluster") != cname:
            continue
        for r in o["spec"].get("ingress", []):
            from_gw = any(f.get("podSelector", {}).get("matchLabels") and "namespaceSelector" not in f
                          and all(labels.get(a) == b for a, b in f["podSelector"]["matchLabels"].items())
                          for f in r.get("from", []))
            if from_gw and any(p.get("port") == 5432 for p in r.get("ports", [])):
                admitted = True
    if not admitted:
        problem(where, f"no NetworkPolicy admits the gateway pods to the pods of Cluster {cname} on 5432")
    # Cache affinity: the Ingress hashes on the key the map defines.
    ing = objs.get(("Ingress", "icr"))
    conf = (REPLICATED / "affinity" / "patient-key.nginx.conf").read_text()
    defined = set(re.findall(r"^map\s+\S+\s+\$(\w+)\s*\{", conf, re.M))
    if ing is None:
        problem(where, "no Ingress icr")
        return
    key = ing["metadata"].get("annotations", {}).get("nginx.ingress.kubernetes.io/upstream-hash-by", "")
    if key.lstrip("$") not in defined:
        problem(where, f"Ingress icr: upstream-hash-by {key!r} is not a variable patient-key.nginx.conf defines ({sorted(defined)})")
    svc_ports = {p["name"] for p in objs.get(("Service", "icr"), {}).get("spec", {}).get("ports", [])}
    for rule in ing["spec"].get("rules", []):
        for path in rule.get("http", {}).get("paths", []):
            b = path["backend"].get("service", {})
            if b.get("name") != "icr" or b.get("port", {}).get("name") not in svc_ports:
                problem(where, f"Ingress icr: path {path.get('path')} must go to the Service icr, port http")


def assemble_rendered(rendered: Path, out: Path) -> int:
    """The gateway's config directory as a pod of a rendered kustomization
    sees it, for `icr check-config`: ConfigMap items as rendered, Secrets'
    items stood in for (config/example's JWKS; a URL of CloudNativePG's
    form for the store)."""
    objs = rendered_objects(rendered)
    spec, gw, config_dir = gateway_container(objs[("StatefulSet", "icr")])
    stand_ins = {"idp.jwks.json": (ROOT / "config" / "example" / "keys" / "idp.jwks.json").read_bytes(),
                 "uri": STORE_URI_STAND_IN.encode(),
                 "ca.crt": STORE_CA_STAND_IN.read_bytes()}
    for path, (kind, name, key) in projected_items(spec, gw, config_dir).items():
        if kind == "configMap":
            data = objs[("ConfigMap", unhashed(name))]["data"][key].encode()
        else:
            data = stand_ins[key]
        dst = out / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    return 0


# ---------------------------------------------------------------------------
# The population-health extract (deploy/k8s-extract)


EXTRACT = DEPLOY / "k8s-extract" / "run"
# The Job controller's annotation (and, from 1.28, label) with the pod's index.
INDEX_FIELDS = {f"metadata.{kind}['batch.kubernetes.io/job-completion-index']" for kind in ("annotations", "labels")}
EXTRACT_CLAIMS = {"input": "icr-extract-input", "output": "icr-extract-output",
                  "audit": "icr-extract-audit", "anchors": "icr-extract-anchors"}


def flag(args: list[str], name: str) -> str | None:
    """The value after `name` in a container's args."""
    return args[args.index(name) + 1] if name in args[:-1] else None


def claim_of(spec: dict, mount: dict | None) -> str | None:
    """The PersistentVolumeClaim behind a volume mount, if it is one."""
    if mount is None:
        return None
    vol = next((v for v in spec.get("volumes", []) if v["name"] == mount["name"]), {})
    return vol.get("persistentVolumeClaim", {}).get("claimName")


def extract_pod(objs: dict) -> tuple[dict, dict, dict] | None:
    """The Indexed Job, its pod spec and its extract container."""
    job = objs.get(("Job", "icr-extract"))
    if job is None:
        return None
    spec = job["spec"]["template"]["spec"]
    c = next((c for c in spec.get("containers", []) if c["name"] == "extract"), None)
    return (job, spec, c) if c else None


def check_extract_config() -> None:
    """The extract's gateway config is deploy/k8s's with the cache off."""
    base_dir, ext_dir = K8S / "config", EXTRACT / "config"
    try:
        base = tomllib.loads((base_dir / "gateway.toml").read_text())
        ext = tomllib.loads((ext_dir / "gateway.toml").read_text())
    except Exception as e:  # noqa: BLE001
        problem("deploy/k8s-extract/run/config/gateway.toml", f"not valid TOML: {e}")
        return
    cache = ext.pop("cache", {})
    base.pop("cache", None)
    if ext != base:
        problem("deploy/k8s-extract/run/config/gateway.toml", "must be deploy/k8s/config/gateway.toml but for [cache]: the extract goes through the gateway's own sources, audit and access settings")
    if cache.get("enabled") is not False:
        problem("deploy/k8s-extract/run/config/gateway.toml", "[cache] enabled must be false: each person is fetched once, a cache would only hold records")
    names = lambda d: {p.relative_to(d) for p in [d / "policy.toml", *sorted((d / "sources.d").glob("*.toml"))] if p.is_file()}
    for f in sorted(names(base_dir) | names(ext_dir)):
        a, b = base_dir / f, ext_dir / f
        if not (a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()):
            problem(f"deploy/k8s-extract/run/config/{f}", f"must be deploy/k8s/config/{f} as it is (same sources and policy as the gateway)")


def check_extract(rendered: Path) -> None:
    """The Indexed Job, the merge Job and the claims, as rendered."""
    where = "deploy/k8s-extract/run/job.yaml"
    objs = rendered_objects(rendered)
    check_extract_config()
    found = extract_pod(objs)
    if found is None:
        problem(where, "no Job icr-extract with a container extract")
        return
    job, spec, c = found
    for name in ("icr-extract", "icr-extract-merge"):
        j = objs.get(("Job", name))
        if j is None:
            problem("deploy/k8s-extract", f"no Job {name}")
            continue
        check_security(f"deploy/k8s-extract: Job {name}", j["spec"]["template"]["spec"])
        if j["spec"]["template"]["spec"].get("restartPolicy") != "Never":
            problem(f"deploy/k8s-extract: Job {name}", "restartPolicy must be Never (backoffLimitPerIndex needs it; a retry is a new pod)")
    if ("Secret", "icr-extract-key") in objs:
        problem("deploy/k8s-extract", "the Secret icr-extract-key (the project key) must never be in this repository: create it from your secret store")
    js = job["spec"]
    if js.get("completionMode") != "Indexed":
        problem(where, "completionMode must be Indexed (each pod one shard)")
    env = {e["name"]: e for e in c.get("env", [])}
    if env.get("SHARD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") not in INDEX_FIELDS:
        problem(where, "SHARD_INDEX must come from the pod's batch.kubernetes.io/job-completion-index (downward API)")
    if env.get("SHARDS", {}).get("value") != str(js.get("completions")):
        problem(where, f"SHARDS {env.get('SHARDS', {}).get('value')!r} must equal completions {js.get('completions')} (N of --shard I/N)")
    if not 1 <= js.get("parallelism", 1) <= js.get("completions", 0):
        problem(where, "parallelism must be from 1 to completions")
    if "backoffLimitPerIndex" not in js:
        problem(where, "backoffLimitPerIndex: a failed shard is retried on its own, the others go on")
    args = c.get("args", [])
    defined = set(env)
    for text in args + [m.get("subPathExpr", "") for m in mounts_of(c)]:
        for var in re.findall(r"\$\((\w+)\)", text):
            if var not in defined:
                problem(where, f"$({var}) is not in the container's env: Kubernetes would pass it as it is")
    if args[:2] != ["extract", "run"]:
        problem(where, "extract: args must start with the subcommand: extract run")
    if "--resume" not in args:
        problem(where, "extract: --resume on every attempt, so that a retried pod continues its shard (it starts afresh when there is nothing to resume)")
    expected = {"--shard": "$(SHARD_INDEX)/$(SHARDS)", "--run-id": "$(RUN_ID)", "--date": "$(RUN_DATE)"}
    for f, v in expected.items():
        if flag(args, f) != v:
            problem(where, f"extract: {f} must be {v}, not {flag(args, f)!r}")
    if not re.fullmatch(r"[a-z0-9-]{1,64}", env.get("RUN_ID", {}).get("value", "")):
        problem(where, "RUN_ID must be 1 to 64 of a-z, 0-9 and - (the audit and the manifests carry it)")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", env.get("RUN_DATE", {}).get("value", "")):
        problem(where, "RUN_DATE must be a date, YYYY-MM-DD (ages are reckoned on it, the same for every shard)")

    # Config, spec and key.
    config_dir = flag(args, "--config") or ""
    cm = under_mount(config_dir, c, writable=False)
    if cm is None or cm["mountPath"].rstrip("/") != config_dir.rstrip("/"):
        problem(where, f"extract: --config {config_dir} is not a read-only mount")
        return
    items = projected_items(spec, c, config_dir)
    gen = generator(EXTRACT, "icr-extract-config")
    cm_keys = {key for (kind, name, key) in items.values() if kind == "configMap" and name == "icr-extract-config"}
    for key in sorted(set(gen) ^ cm_keys):
        problem(where, f"ConfigMap icr-extract-config key {key}: generated and projected must be the same keys")
    for f in sorted((EXTRACT / "config" / "sources.d").glob("*.toml")):
        if items.get(f"sources.d/{f.name}", ("", "", ""))[2] != f.name:
            problem(where, f"sources.d/{f.name} is not projected into {config_dir}/sources.d")
    spec_path = flag(args, "--spec") or ""
    if spec_path[len(config_dir.rstrip("/")) + 1:] not in items:
        problem(where, f"extract: --spec {spec_path} is not projected into {config_dir}")
    try:
        run = tomllib.loads((EXTRACT / "config" / "extract.toml").read_text())
    except Exception as e:  # noqa: BLE001
        problem("deploy/k8s-extract/run/config/extract.toml", f"not valid TOML: {e}")
        return
    for section in ("run", "pseudonymise"):
        if section not in run:
            problem("deploy/k8s-extract/run/config/extract.toml", f"no [{section}]")
    key_file = run.get("run", {}).get("key_file", "")
    km = under_mount(key_file, c, writable=False)
    vol = next((v for v in spec.get("volumes", []) if km and v["name"] == km["name"]), {})
    key_items = {i["path"]: i["key"] for i in vol.get("secret", {}).get("items", [])}
    if vol.get("secret", {}).get("secretName") != "icr-extract-key" or key_file[len(km["mountPath"].rstrip("/")) + 1:] not in key_items:
        problem(where, f"[run] key_file {key_file} must be an item of the Secret icr-extract-key, mounted read-only")
    elif vol["secret"].get("defaultMode", 0o644) & 0o007:
        problem(where, "the project key's volume must not be readable by others (defaultMode)")

    # Inputs read-only; output, audit and anchors on their own claims.
    for what, path in (("--cohort", flag(args, "--cohort")), ("[run] national_opt_out", run.get("run", {}).get("national_opt_out"))):
        if path is None:
            continue
        path = path.removeprefix("registered:")
        if claim_of(spec, under_mount(path, c, writable=False)) != EXTRACT_CLAIMS["input"]:
            problem(where, f"{what} {path} must be on the claim {EXTRACT_CLAIMS['input']}, mounted read-only")
    out = flag(args, "--out") or ""
    om = under_mount(out, c, writable=True)
    if claim_of(spec, om) != EXTRACT_CLAIMS["output"]:
        problem(where, f"extract: --out {out} must be on the claim {EXTRACT_CLAIMS['output']}, writable")
    audit = tomllib.loads((EXTRACT / "config" / "gateway.toml").read_text()).get("audit", {})
    for what, path in (("audit", audit.get("dir", "")), ("anchors", audit.get("anchor_file", ""))):
        m = under_mount(path, c, writable=True)
        if claim_of(spec, m) != EXTRACT_CLAIMS[what]:
            problem(where, f"[audit] {what} {path} must be on the claim {EXTRACT_CLAIMS[what]} (not the output, which is handed on)")
        elif "$(SHARD_INDEX)" not in m.get("subPathExpr", ""):
            problem(where, f"the {what} mount must be the shard's own directory (subPathExpr with $(SHARD_INDEX)): one process per audit directory")

    # The merge: the same output claim, nothing else of note.
    merge = objs.get(("Job", "icr-extract-merge"))
    if merge is not None:
        mspec = merge["spec"]["template"]["spec"]
        mc = mspec["containers"][0]
        margs = mc.get("args", [])
        if margs[:2] != ["extract", "merge"]:
            problem("deploy/k8s-extract/merge/job.yaml", "args must be extract merge --out DIR")
        mout = flag(margs, "--out") or ""
        if claim_of(mspec, under_mount(mout, mc, writable=True)) != EXTRACT_CLAIMS["output"] or mout != out:
            problem("deploy/k8s-extract/merge/job.yaml", f"--out {mout} must be the shards' --out {out} on the claim {EXTRACT_CLAIMS['output']}")
        if any(v.get("secret") or v.get("projected") for v in mspec.get("volumes", [])):
            problem("deploy/k8s-extract/merge/job.yaml", "the merge reads the shards' output only: no key, no config")

    # The claims: every one the Jobs name exists; shared ones are ReadWriteMany.
    claims = {n: o for (k, n), o in objs.items() if k == "PersistentVolumeClaim"}
    for what, name in EXTRACT_CLAIMS.items():
        modes = claims.get(name, {}).get("spec", {}).get("accessModes", [])
        need = "ReadOnlyMany" if what == "input" else "ReadWriteMany"
        if name not in claims:
            problem("deploy/k8s-extract/volumes", f"no PersistentVolumeClaim {name}")
        elif need not in modes:
            problem("deploy/k8s-extract/volumes", f"{name} must allow {need}: the shards' pods mount it at once, on any node")


def assemble_extract(rendered: Path, out: Path) -> int:
    """The extract pod's config directory, for `icr check-config`."""
    objs = rendered_objects(rendered)
    found = extract_pod(objs)
    if found is None:
        print("no Job icr-extract")
        return 1
    _, spec, c = found
    stand_ins = {"idp.jwks.json": (ROOT / "config" / "example" / "keys" / "idp.jwks.json").read_bytes()}
    for path, (kind, name, key) in projected_items(spec, c, flag(c["args"], "--config") or "").items():
        data = objs[("ConfigMap", name)]["data"][key].encode() if kind == "configMap" else stand_ins[key]
        dst = out / path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--promql-out", type=Path, help="write the dashboard's queries here as a rule file")
    ap.add_argument("--assemble", type=Path, help="only write the pod's config directory here")
    ap.add_argument("--replicated", type=Path,
                    help="deploy/replicated rendered by kustomize: check it (with --assemble: assemble its pod's config)")
    ap.add_argument("--extract", type=Path,
                    help="deploy/k8s-extract/{run,merge,volumes} rendered by kustomize, as one file: check them (with --assemble: assemble the extract pod's config)")
    a = ap.parse_args()
    if a.assemble and a.extract:
        return assemble_extract(a.extract, a.assemble)
    if a.assemble:
        return assemble_rendered(a.replicated, a.assemble) if a.replicated else assemble(a.assemble)
    check_kustomizations()
    objs = k8s_objects()
    pod = check_gateway_pod(objs)
    audit_dir = None
    try:
        audit_dir = tomllib.loads((K8S / "config" / "gateway.toml").read_text()).get("audit", {}).get("dir")
    except Exception:  # noqa: BLE001 (reported above)
        pass
    check_collector(pod[1] if pod else None, audit_dir)
    exprs = check_dashboard(a.promql_out)
    check_metric_names(exprs)
    if a.replicated:
        check_replicated(a.replicated)
    else:
        notes.append("deploy/replicated not checked (no rendered overlay: --replicated)")
    if a.extract:
        check_extract(a.extract)
    else:
        notes.append("deploy/k8s-extract not checked (not rendered: --extract)")
    for n in notes:
        print(f"note: {n}")
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("deploy checks: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
