#!/usr/bin/env python3
"""Interactive record latency during a population-health extract (issue 17).

Everything on this machine on loopback: the demo region (`icr demo
--ephemeral`: every simulated source and the gateway) from a copy of
config/demo with an `[[extract]]` over the whole demo population (or
`--cohort` people of it), the gateway's cache off so that every record
request goes to its sources, as the extract's calls do.

Phases, each `--requests` record requests (`GET /v1/patients/{nhs}/record`
as an emergency-department clinician) at `--concurrency` over a sample of
the population:
  before  no extract running;
  during  an extract started through the operator API (`POST /v1/extracts`)
          and watched there until it finishes: clinicians' requests go on
          for as long as it runs (at least `--requests` of them are timed;
          more if the extract takes longer);
  after   the extract finished.

Reported per phase: requests, statuses, p50/p95/p99/max latency; for the
extract: how long it took, people per second, its counts, how often its
calls waited (by reason: an interactive call in flight, an open circuit,
the rate) and its rate to each source at the end, from /metrics.

    python3 deploy/bench/extract_latency.py --icr target/release/icr \\
        --people target/release/examples/people

`--smoke` (CI): a small cohort and a few requests; fails only if a phase
breaks (a request not answered 200, the extract not finished).
Results: a Markdown table on stdout and in OUT/report.md, figures in
OUT/results.json (OUT defaults to target/extract-latency).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection, HTTPException
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import finish, http, machine  # noqa: E402  (the load benchmark's helpers)

ROOT = Path(__file__).resolve().parents[2]
SEED, SIZE = 20261101, 1200  # config/demo/sim.toml
EXTRACT = "bench"


def log(msg: str) -> None:
    print(f"[extract-latency] {msg}", file=sys.stderr, flush=True)


def percentile(xs: list[float], q: float) -> float | None:
    """The q-quantile of `xs` (nearest rank)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


def summary(latencies: list[float], statuses: dict[str, int], seconds: float) -> dict:
    return {
        "requests": len(latencies), "seconds": seconds,
        "per_second": len(latencies) / seconds if seconds else None,
        "statuses": statuses,
        "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
        "p99": percentile(latencies, 0.99), "max": max(latencies) if latencies else None,
    }


class Clinicians:
    """`concurrency` clinicians asking for records, each over its own
    keep-alive connection, taking people in turn from `people`."""

    def __init__(self, gateway: str, token: str, people: list[str], concurrency: int):
        self.host = gateway.removeprefix("http://").rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.people = people
        self.concurrency = concurrency
        self.next = 0
        self.lock = threading.Lock()

    def _person(self) -> str:
        with self.lock:
            p = self.people[self.next % len(self.people)]
            self.next += 1
            return p

    def run(self, requests: int, until: threading.Event | None = None) -> dict:
        """At least `requests` requests; with `until`, also until it is set."""
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        lock = threading.Lock()
        issued = [0]

        def more() -> bool:
            with lock:
                if issued[0] >= requests and (until is None or until.is_set()):
                    return False
                issued[0] += 1
                return True

        def worker() -> None:
            conn = HTTPConnection(self.host, timeout=60)
            while more():
                url = f"/v1/patients/{self._person()}/record"
                started = time.perf_counter()
                try:
                    conn.request("GET", url, headers=self.headers)
                    r = conn.getresponse()
                    r.read()
                    status = str(r.status)
                except (OSError, HTTPException) as e:
                    status = type(e).__name__
                    conn.close()
                    conn = HTTPConnection(self.host, timeout=60)
                took = time.perf_counter() - started
                with lock:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1
            conn.close()

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return summary(latencies, statuses, time.monotonic() - started)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="icr-extract-latency-"))
        self.out = Path(args.out)
        self.results: dict = {"machine": machine(), "args": {
            k: v for k, v in vars(args).items() if k not in ("out",)}}
        self.demo: subprocess.Popen | None = None

    def everyone(self) -> list[str]:
        return subprocess.run([self.args.people, str(SEED), str(SIZE)], check=True,
                              capture_output=True, text=True).stdout.split()

    def registered(self) -> list[str]:
        """People held by a GP practice of the demo's directory: each has a
        record to ask for."""
        text = (ROOT / "config" / "demo" / "practices.toml").read_text()
        practices = ["gp-" + ods.lower() for ods in re.findall(r'ods_code = "(\w+)"', text)]
        return subprocess.run([self.args.people, str(SEED), str(SIZE), *practices], check=True,
                              capture_output=True, text=True).stdout.split()

    def config(self, cohort: list[str]) -> Path:
        cfg = self.work / "config"
        shutil.copytree(ROOT / "config" / "demo", cfg, ignore=shutil.ignore_patterns("audit"))
        # The extract refuses a key others can read.
        os.chmod(cfg / "extract" / "project.key", 0o600)
        (cfg / "cohort.txt").write_text("".join(f"{n}\n" for n in cohort))
        with open(cfg / "gateway.toml", "a") as f:
            f.write(f'\n[[extract]]\nname = "{EXTRACT}"\nspec = "extract/extract.toml"\n'
                    f'cohort = "cohort.txt"\nout = "{self.work / "extracts"}"\n')
        return cfg

    def start_demo(self, cfg: Path) -> str:
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        # Every record request goes to its sources, as the extract's calls do.
        env["ICR_CACHE__ENABLED"] = "false"
        self.demo = subprocess.Popen(
            [self.args.icr, "demo", "--ephemeral", "--config", str(cfg)],
            env=env, stdout=subprocess.PIPE, stderr=open(self.work / "demo.log", "wb"), text=True,
        )
        deadline = time.monotonic() + 120
        assert self.demo.stdout is not None
        for line in self.demo.stdout:
            if line.startswith("icr gateway listening on "):
                gateway = line.split()[4]
                # Keep draining its output so that it never blocks on a full pipe.
                threading.Thread(target=lambda: [None for _ in self.demo.stdout],
                                 daemon=True).start()
                return gateway.rstrip("/")
            if time.monotonic() > deadline:
                break
        raise SystemExit(f"the demo did not start: see {self.work / 'demo.log'}")

    def token(self, cfg: Path, role: str, org: str) -> str:
        return subprocess.run(
            [self.args.icr, "token", "--config", str(cfg), "--role", role, "--org", org,
             "--ttl", "86400"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    def run(self) -> None:
        a = self.args
        cohort = self.everyone()
        if a.cohort:
            cohort = cohort[: a.cohort]
        # The objection register's people are left out: their records may
        # be refused to this clinician.
        objectors = set(re.findall(r'nhs_number = "(\d+)"',
                                   (ROOT / "config" / "demo" / "objections.toml").read_text()))
        registered = [p for p in self.registered() if p not in objectors]
        # Clinicians ask for registered people (each has a record), in a
        # fixed order; with the cache off, asking again goes to the sources.
        sample = registered[:: max(1, len(registered) // a.sample)][: a.sample]
        cfg = self.config(cohort)
        gateway = self.start_demo(cfg)
        log(f"demo up at {gateway}; cohort {len(cohort)} people; sample {len(sample)} people")
        # An emergency-department clinician may look anyone up.
        clinician = self.token(cfg, "R8000", "Y9E01")
        operator = {"Authorization": f"Bearer {self.token(cfg, 'R8015', 'X26')}",
                    "Content-Type": "application/json"}
        clinicians = Clinicians(gateway, clinician, sample, a.concurrency)
        clinicians.run(a.concurrency * 2)  # connections and pools up

        phases = self.results["phases"] = {}
        log(f"before: {a.requests} requests at {a.concurrency}")
        phases["before"] = clinicians.run(a.requests)

        log("during: the extract started through the operator API")
        status, _, body = http("POST", f"{gateway}/v1/extracts",
                               json.dumps({"extract": EXTRACT}).encode(), operator)
        run = json.loads(body)
        if status != 202:
            raise SystemExit(f"the extract did not start: {status} {run}")
        started = time.monotonic()
        finished = threading.Event()
        last: dict = {}

        def watch() -> None:
            while True:
                _, _, b = http("GET", f"{gateway}/v1/extracts/{run['run']}", headers=operator)
                last.update(json.loads(b))
                if last.get("state") != "running":
                    last["seconds"] = time.monotonic() - started
                    finished.set()
                    return
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        phases["during"] = clinicians.run(a.requests, until=finished)
        watcher.join()
        _, _, metrics = http("GET", f"{gateway}/metrics")
        self.results["extract"] = extract_figures(last, metrics.decode())

        log(f"after: {a.requests} requests at {a.concurrency}")
        phases["after"] = clinicians.run(a.requests)

    def cleanup(self) -> None:
        if self.demo and self.demo.poll() is None:
            self.demo.terminate()
            try:
                self.demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.demo.kill()
                self.demo.wait()
        if self.args.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def labelled(text: str, name: str, label: str) -> dict[str, float]:
    """A metric's values summed by one label's value."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{") and f'{label}="' in line:
            key = line.split(f'{label}="', 1)[1].split('"', 1)[0]
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def extract_figures(status: dict, metrics: str) -> dict:
    progress = status.get("progress") or {}
    counts = progress.get("counts") or {}
    seconds = status.get("seconds") or 0.0
    return {
        "run": status.get("run"), "state": status.get("state"), "error": status.get("error"),
        "seconds": seconds, "people": progress.get("done"), "counts": counts,
        "people_per_second": (progress.get("done") or 0) / seconds if seconds else None,
        "waits": labelled(metrics, "icr_extract_waits_total", "reason"),
        "rate_at_end": labelled(metrics, "icr_extract_rate", "source"),
    }


def ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1000:.1f}"


def report(r: dict) -> str:
    m, a, x = r["machine"], r["args"], r.get("extract") or {}
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory'] / 1048576:.0f} MiB, "
        f"Linux {m['kernel']}; demo region (every simulated source), gateway and clients all on it.",
        "",
        f"Record requests as an emergency-department clinician, {a['concurrency']} at a time over "
        f"{a['sample']} registered people, the gateway's cache off (every request asks its sources).",
        "",
        "| phase | requests | req/s | statuses | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for name in ("before", "during", "after"):
        p = r.get("phases", {}).get(name)
        if not p:
            continue
        st = ", ".join(f"{k} {v}" for k, v in sorted(p["statuses"].items()))
        lines.append(f"| {name} | {p['requests']} | {p['per_second'] or 0:.1f} | {st} | "
                     f"{ms(p['p50'])} | {ms(p['p95'])} | {ms(p['p99'])} | {ms(p['max'])} |")
    if x:
        c = x.get("counts") or {}
        waits = ", ".join(f"{k} {v:.0f}" for k, v in sorted(x["waits"].items())) or "none"
        rates = sorted(x["rate_at_end"].values())
        lines += [
            "",
            f"The extract ({x['state']}): {x['people']} people in {x['seconds']:.1f} s, "
            f"{x['people_per_second'] or 0:.1f} people/s; extracted {c.get('extracted')}, "
            f"objected {c.get('objected')}, national opt-out {c.get('national_opt_out')}, "
            f"not found {c.get('not_found')}, incomplete {c.get('incomplete')}. "
            f"Its calls waited (all sources): {waits}. Its rate at the end, calls/s per source: "
            + (f"{rates[0]:g} to {rates[-1]:g}." if rates else "—"),
        ]
    return "\n".join(lines)


def broken(r: dict) -> list[str]:
    problems = []
    for name in ("before", "during", "after"):
        p = r.get("phases", {}).get(name)
        if not p:
            problems.append(f"phase {name} did not run")
        elif set(p["statuses"]) != {"200"}:
            problems.append(f"{name}: not every request answered 200: {p['statuses']}")
    x = r.get("extract") or {}
    if x.get("state") != "finished":
        problems.append(f"the extract did not finish: {x.get('state')} {x.get('error') or ''}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icr", required=True, help="the `icr` binary with the demo feature")
    ap.add_argument("--people", required=True, help="the icr-sim `people` example binary")
    ap.add_argument("--out", default=str(ROOT / "target" / "extract-latency"))
    ap.add_argument("--requests", type=int, default=500, help="timed requests per phase (at least)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--sample", type=int, default=200, help="people the clinicians ask for")
    ap.add_argument("--cohort", type=int, default=0,
                    help="people of the population in the extract (0: everyone)")
    ap.add_argument("--smoke", action="store_true",
                    help="a token size, for CI: fails only if a phase breaks")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.smoke:
        args.requests, args.concurrency, args.sample = 20, 2, 20
        args.cohort = args.cohort or 60
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()
    finish(b.out, b.results, report(b.results), broken(b.results))


if __name__ == "__main__":
    main()
