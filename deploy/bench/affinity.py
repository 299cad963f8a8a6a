#!/usr/bin/env python3
"""Cache affinity: three gateway replicas behind nginx, round-robin against
consistent hashing on the NHS number, and the cache hit rate each gives.

Everything on loopback, as in load.py (whose set-up this reuses): one
simulated region (`icr sim`, every source), three `icr serve` replicas with
their own audit directories and caches, and nginx in front, once balancing
round-robin and once with `hash $icr_patient_key consistent`, the key
defined by deploy/replicated/affinity/patient-key.nginx.conf (the same file
the ingress-nginx controller is given). The same request mix is sent both
times: every person of the demo population (or a sample) asked `--times`
times, in one seeded random order, each ask the JSON record or the FHIR
$everything (both read the same cached source answers).

Figures, read from the replicas' /metrics (counts, not timings, so a
shared machine does not disturb them): source answers from the cache
(`icr_cache_hits_total`) against fetched (`icr_cache_misses_total`), calls
made to the sources, merged views reused, requests per replica; and from
nginx's log, how many replicas each person's requests reached. After the
reads, an operator purges each person's cached answers
(`DELETE /v1/cache/patients/{nhs}`) through nginx: counted is whether the
purge reached every replica that held that person's answers (only one
replica is reached by a purge, so it is complete only when the person's
reads all went there).

Each source's `cache_ttl_s` is raised to an hour for the run, so that what
is measured is where requests go, not how long the run takes against the
demo's 60 s TTLs.

    python3 deploy/bench/affinity.py --icr target/release/icr \\
        --people target/release/examples/people

`--smoke` (CI): a few people, and fails unless hashing sent each person to
one replica and round-robin spread them.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (the benchmark's set-up: simulator, config, token, processes)
from load import Bench, Proc, http, log, port_free, wait_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEY_MAP = ROOT / "deploy" / "replicated" / "affinity" / "patient-key.nginx.conf"
FRONT = "127.0.0.1:18090"
REPLICAS = ["127.0.0.1:18091", "127.0.0.1:18092", "127.0.0.1:18093"]
MODES = {"round-robin": "", "hashed": "hash $icr_patient_key consistent;"}
TTL_S = 3600


def counter(text: str, name: str) -> float:
    """A counter's total over all its label sets (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def requests_answered(text: str) -> float:
    """Record and $everything requests answered (any status)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("icr_http_request_duration_seconds_count{")
               and re.search(r'route="(record|fhir-everything)"', line))


class Affinity:
    def __init__(self, args):
        self.args = args
        self.bench = Bench(argparse.Namespace(
            icr=args.icr, icr_serve=args.icr, oha=None, nginx=args.nginx, out=args.out,
            people=args.people))
        self.work = self.bench.work

    def config(self) -> Path:
        cfg = self.bench.config("config-region", left_out=[])
        for f in (cfg / "sources.d").glob("*.toml"):
            text = re.sub(r"(?m)^cache_ttl_s = \d+$", f"cache_ttl_s = {TTL_S}", f.read_text())
            if "cache_ttl_s" not in text:
                text = text.replace("\nid = ", f"\ncache_ttl_s = {TTL_S}\nid = ", 1)
            f.write_text(text)
        return cfg

    def start_replicas(self, cfg: Path, mode: str) -> list[Proc]:
        procs = []
        for i, addr in enumerate(REPLICAS):
            env = dict(load.os.environ)
            env.setdefault("RUST_LOG", "warn")
            env["ICR_AUDIT__DIR"] = str(self.work / f"audit-{mode}-{i}")
            p = Proc(f"icr-{i}", [self.args.icr, "serve", "--config", str(cfg), "--listen", addr],
                     env=env, log_path=self.work / f"gateway-{mode}-{i}.log")
            self.bench.procs.append(p)
            procs.append(p)
        for addr in REPLICAS:
            wait_port(addr)
        return procs

    def start_nginx(self, mode: str) -> tuple[Proc, Path]:
        w = self.work
        access = w / f"nginx-{mode}.log"
        conf = w / f"nginx-{mode}.conf"
        servers = " ".join(f"server {a};" for a in REPLICAS)
        conf.write_text(f"""
worker_processes 2;
daemon off;
pid {w}/nginx-{mode}.pid;
error_log {w}/nginx-{mode}-error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {w}/nginx-body;
    proxy_temp_path {w}/nginx-proxy;
    fastcgi_temp_path {w}/nginx-fastcgi;
    uwsgi_temp_path {w}/nginx-uwsgi;
    scgi_temp_path {w}/nginx-scgi;
    include {KEY_MAP};
    log_format affinity '$request_method $icr_patient_key $upstream_addr $status';
    access_log {access} affinity;
    upstream icr {{ {MODES[mode]} {servers} keepalive 32; }}
    server {{
        listen {FRONT};
        location / {{
            proxy_pass http://icr;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
""")
        p = Proc("nginx", [self.args.nginx, "-c", str(conf), "-p", str(w)], log_path=w / f"nginx-{mode}.out")
        self.bench.procs.append(p)
        wait_port(FRONT)
        return p, access

    def asks(self, people: list[str]) -> list[str]:
        """The request mix: everyone `times` times, in one seeded order."""
        rng = random.Random(self.args.seed)
        urls = []
        for nhs in people:
            for _ in range(self.args.times):
                if rng.random() < 0.5:
                    urls.append(f"http://{FRONT}/v1/patients/{nhs}/record")
                else:
                    urls.append(f"http://{FRONT}/fhir/r4/Patient/{nhs}/$everything")
        rng.shuffle(urls)
        return urls

    def run(self) -> dict:
        for addr in [FRONT, *REPLICAS, "127.0.0.1:9100", "127.0.0.1:9101"]:
            if not port_free(addr):
                raise SystemExit(f"{addr} is in use: stop what holds it and run again")
        cfg = self.config()
        self.bench.start_sim(cfg)
        self.bench.set_latency(0)
        token = self.bench.token(cfg)
        # An operator (the default operator_roles), for the purges.
        operator = subprocess.run(
            [self.args.icr, "token", "--config", str(cfg), "--role", "R8015", "--org", "Y9E01",
             "--ttl", "86400"], check=True, capture_output=True, text=True).stdout.strip()
        people = self.bench.people(cfg)
        if self.args.people_count:
            people = random.Random(self.args.seed).sample(people, min(self.args.people_count, len(people)))
        urls = self.asks(people)
        result = {"machine": load.machine(), "people": len(people), "times": self.args.times,
                  "requests": len(urls), "workers": self.args.workers, "ttl_s": TTL_S, "modes": {}}
        for mode in MODES:
            gws = self.start_replicas(cfg, mode)
            nginx, access = self.start_nginx(mode)
            log(f"{mode}: {len(people)} people x {self.args.times}, {len(urls)} requests, "
                f"{self.args.workers} at a time, through nginx to {len(REPLICAS)} replicas")
            started = time.monotonic()
            statuses = load.fetch_all(urls, {"Authorization": f"Bearer {token}"}, self.args.workers)
            took = time.monotonic() - started
            purges = load.fetch_all([f"http://{FRONT}/v1/cache/patients/{n}" for n in people],
                                    {"Authorization": f"Bearer {operator}"}, self.args.workers,
                                    method="DELETE")
            per = []
            for addr in REPLICAS:
                _, _, body = http("GET", f"http://{addr}/metrics")
                text = body.decode()
                per.append({
                    "replica": addr,
                    "requests": requests_answered(text),
                    "hits": counter(text, "icr_cache_hits_total"),
                    "misses": counter(text, "icr_cache_misses_total"),
                    "source_calls": counter(text, "icr_source_calls_total"),
                    "view_hits": counter(text, "icr_view_hits_total"),
                })
            nginx.stop()
            for g in gws:
                g.stop()
            wanted = set(people)
            reads: dict[str, set[str]] = {}
            purged_at: dict[str, str] = {}
            for line in access.read_text().splitlines():
                method, key, upstream, _status = line.split(" ")
                if key not in wanted:
                    continue
                if method == "DELETE":
                    purged_at[key] = upstream
                else:
                    reads.setdefault(key, set()).add(upstream)
            spread: dict[int, int] = {}
            for ups in reads.values():
                spread[len(ups)] = spread.get(len(ups), 0) + 1
            complete = sum(1 for n, ups in reads.items() if ups == {purged_at.get(n)})
            result["modes"][mode] = {"statuses": statuses, "purges": purges, "seconds": took,
                                     "replicas": per,
                                     "people_by_replicas_reached": dict(sorted(spread.items())),
                                     "purges_complete": complete}
        return result


def totals(m: dict) -> dict:
    t = {k: sum(r[k] for r in m["replicas"]) for k in ("requests", "hits", "misses", "source_calls", "view_hits")}
    t["hit_rate"] = t["hits"] / max(1.0, t["hits"] + t["misses"])
    return t


def report(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}; simulator, three replicas "
        "and nginx on it (counts, not timings).",
        "",
        f"{r['people']} people of the demo region, each asked {r['times']} times in one random order "
        f"(the JSON record or FHIR $everything at random), {r['requests']} requests, "
        f"{r['workers']} at a time; sources' cache TTL {r['ttl_s']} s; cold caches at the start of each run.",
        "",
        "| nginx balancing | statuses | source answers from cache | hit rate | source calls | "
        "calls per request | merged views reused | requests per replica | people reaching 1 / 2 / 3 replicas | "
        "purges reaching all of a person's cached answers |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for mode, x in r["modes"].items():
        t = totals(x)
        st = ", ".join(f"{k} {v}" for k, v in sorted(x["statuses"].items()))
        reach = x["people_by_replicas_reached"]
        lines.append(
            f"| {mode} | {st} | {t['hits']:.0f} of {t['hits'] + t['misses']:.0f} | "
            f"{100 * t['hit_rate']:.1f} % | {t['source_calls']:.0f} | "
            f"{t['source_calls'] / max(1.0, t['requests']):.2f} | {t['view_hits']:.0f} | "
            + " / ".join(f"{q['requests']:.0f}" for q in x["replicas"]) + " | "
            + " / ".join(str(reach.get(n, 0)) for n in (1, 2, 3)) + " | "
            + f"{x['purges_complete']} of {r['people']} |")
    lines.append("")
    return "\n".join(lines)


def broken(r: dict) -> list[str]:
    """What the smoke run fails on: answers, and where people's requests went."""
    problems = []
    for mode, x in r["modes"].items():
        if set(x["statuses"]) != {"200"}:
            problems.append(f"{mode}: not every request answered 200: {x['statuses']}")
        if set(x["purges"]) != {"204"} and set(x["purges"]) != {"200"}:
            problems.append(f"{mode}: not every purge was answered: {x['purges']}")
    hashed = r["modes"]["hashed"]["people_by_replicas_reached"]
    if set(hashed) != {1}:
        problems.append(f"hashed: some person's requests reached more than one replica: {hashed}")
    if r["modes"]["hashed"]["purges_complete"] != r["people"]:
        problems.append("hashed: some purge did not reach the replica that served the person")
    rr = r["modes"]["round-robin"]["people_by_replicas_reached"]
    if set(rr) == {1}:
        problems.append(f"round-robin: every person's requests reached one replica: {rr}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icr", required=True, help="the `icr` binary with the demo feature (serve, sim, token)")
    ap.add_argument("--people", required=True, help="the icr-sim `people` example binary")
    ap.add_argument("--nginx", default="nginx")
    ap.add_argument("--out", default=str(ROOT / "target" / "affinity-bench"))
    ap.add_argument("--times", type=int, default=4, help="asks per person")
    ap.add_argument("--people-count", type=int, default=0, help="a sample of this many people (0: everyone)")
    ap.add_argument("--workers", type=int, default=8, help="requests in flight")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--smoke", action="store_true", help="a few people, for CI: fails unless hashing holds")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.smoke:
        args.people_count = args.people_count or 24
        args.times = 3
    a = Affinity(args)
    a.bench.args.keep = args.keep
    try:
        result = a.run()
    finally:
        a.bench.cleanup()
    load.finish(Path(args.out), result, report(result), broken(result))


if __name__ == "__main__":
    main()
