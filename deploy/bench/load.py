#!/usr/bin/env python3
"""Load benchmark of the gateway, with nginx beside it, in one run.

Run through `deploy/bench/load.sh` (which builds the release binary and
installs oha and nginx); see BENCHMARKS.md. Everything runs on this machine
on loopback: the simulated region (`icr sim`), the gateway (`icr serve`),
nginx, and oha as the load generator.

Phases:
  latency  sources answer after a fixed delay; the gateway's cache is off so
           every request fans out to all ten sources; oha at fixed rates.
           Beside it, at the same rates: one source asked directly, and the
           same source through nginx as a reverse proxy.
  cold     sources answer at once, cache off: saturation throughput.
  warm     sources answer at once, cache on (every request a hit):
           saturation throughput; nginx serves the same response bytes as a
           static file, also at saturation.
  memory   cache on with a small cap, requests spread over every person in
           the population for a sustained run: the gateway's resident
           memory against the cap.
  population  the whole demo region (every source, PDS and the practices
           included), cache off, sources at once: every person who has a
           record anywhere (or a sample) asked for twice, one pass after
           the other; source calls per request in each pass, from the
           gateway's `icr_source_calls_total`.

`--short` runs every phase but memory briefly (under three minutes) and
ends with the issue-14 targets as ratios; `--smoke` is the same at a token
size, for CI: it asserts nothing about time, only that every phase ran and
was answered.

Results: a Markdown report on stdout and in OUT/report.md, raw oha JSON
and figures in OUT/results.json (OUT defaults to target/load-bench).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATIENT = "9990000050"  # story patient held by every source kind
GATEWAY = "127.0.0.1:18080"
NGINX_PROXY = "127.0.0.1:18081"
NGINX_STATIC = "127.0.0.1:18082"
CONTROL = "http://127.0.0.1:9100"
# The ten sources: five FHIR R4 trusts, two HL7 v2 networks, three councils.
# PDS, the GP practices and the out-of-hours CDA service are left out: PDS
# is asked before the practice, which would make the slowest path two
# sources long. Oxford Health and HCRG Care Group, which joined the region
# after BENCHMARKS.md's figures were taken, are left out too, so that the
# fan-out, and the figures, stay comparable (they hold nothing for PATIENT).
LEFT_OUT = ["pds.toml", "gp.toml", "medvivo.toml", "oxford-health.toml", "hcrg.toml"]
DIRECT_SOURCE = "gwh"
# Per-source limits for the benchmark (see Bench.config).
MAX_CONCURRENT = 512
MLLP_CONNECTIONS = 64
DIRECT_URL = (
    "http://127.0.0.1:9101/fhir/r4/Patient?identifier="
    "https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C" + PATIENT
)


def log(msg: str) -> None:
    print(f"[load] {msg}", file=sys.stderr, flush=True)


def wait_port(addr: str, timeout: float = 30.0) -> None:
    host, port = addr.rsplit(":", 1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on {addr} after {timeout:.0f} s")


def port_free(addr: str) -> bool:
    host, port = addr.rsplit(":", 1)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, int(port)))
            return True
        except OSError:
            return False


def http(method: str, url: str, body: bytes | None = None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


class Proc:
    """A child process whose peak resident memory is followed."""

    def __init__(self, name: str, argv: list[str], env=None, log_path: Path | None = None):
        self.name = name
        out = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.p = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _status(self, key: str) -> int | None:
        try:
            for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            rss = self._status("VmRSS")
            if rss is not None:
                self.samples.append((time.monotonic() - self._t0, rss))

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time so far."""
        try:
            fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def rss(self) -> int | None:
        return self._status("VmRSS")

    def peak(self) -> int | None:
        return self._status("VmHWM")

    def stop(self) -> None:
        self._stop.set()
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Bench:
    def __init__(self, args):
        self.args = args
        self.icr = args.icr
        # The gateway as deployed (built without the simulated region);
        # `icr sim` and `icr token` come from the demo build.
        self.icr_serve = args.icr_serve or args.icr
        self.oha_bin = args.oha
        self.nginx = args.nginx
        self.work = Path(tempfile.mkdtemp(prefix="icr-load-"))
        os.chmod(self.work, 0o755)  # nginx workers may run as another user
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.results: dict = {"machine": machine(), "phases": {}}
        self.procs: list[Proc] = []

    # --- set-up -----------------------------------------------------------

    def config(self, name: str = "config", left_out: list[str] = LEFT_OUT) -> Path:
        cfg = self.work / name
        shutil.copytree(
            ROOT / "config" / "demo", cfg, ignore=shutil.ignore_patterns("audit")
        )
        for name in left_out:
            (cfg / "sources.d" / name).unlink()
        # Room for the rates asked: the demo's per-source limits (32 calls in
        # flight; 4 MLLP connections, i.e. 80 queries/s at 50 ms) would
        # otherwise refuse or queue calls, and the figures would measure
        # those limits rather than the gateway.
        for f in (cfg / "sources.d").glob("*.toml"):
            text = f.read_text().replace("max_connections = 4\n", f"max_connections = {MLLP_CONNECTIONS}\n")
            text += f"\n[resilience]\nmax_concurrent = {MAX_CONCURRENT}\n"
            f.write_text(text)
        return cfg

    def start_sim(self, cfg: Path) -> None:
        self.sim = Proc(
            "sim",
            [self.icr, "sim", "--config", str(cfg)],
            log_path=self.work / "sim.log",
        )
        self.procs.append(self.sim)
        wait_port(CONTROL.removeprefix("http://"))
        _, _, body = http("GET", CONTROL + "/sources")
        listing = json.loads(body)
        items = listing if isinstance(listing, list) else listing.get("sources", [])
        self.listeners = [s["id"] for s in items]
        for s in items:
            for key in ("listen", "address", "addr"):
                if key in s:
                    wait_port(s[key])
                    break

    def set_latency(self, ms: int) -> None:
        for sid in self.listeners:
            body = json.dumps({"latency_ms": ms}).encode() if ms else b"{}"
            http(
                "PUT",
                f"{CONTROL}/sources/{sid}/fault",
                body,
                {"Content-Type": "application/json"},
            )

    def start_gateway(self, cfg: Path, phase: str, **overrides) -> Proc:
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        for k, v in overrides.items():
            env[k] = str(v)
        audit = self.work / f"audit-{phase}"
        env["ICR_AUDIT__DIR"] = str(audit)
        gw = Proc(
            "gateway",
            [self.icr_serve, "serve", "--config", str(cfg), "--listen", GATEWAY],
            env=env,
            log_path=self.work / f"gateway-{phase}.log",
        )
        self.procs.append(gw)
        wait_port(GATEWAY)
        return gw

    def token(self, cfg: Path) -> str:
        # An emergency-department clinician: a self-declared relationship,
        # so every person in the population may be looked up.
        out = subprocess.run(
            [self.icr, "token", "--config", str(cfg), "--role", "R8000", "--org", "Y9E01",
             "--ttl", "86400"],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def start_nginx(self, static_body: bytes, content_type: str) -> None:
        static = self.work / "static"
        static.mkdir(mode=0o755)
        (static / "record.json").write_bytes(static_body)
        os.chmod(static / "record.json", 0o644)
        conf = self.work / "nginx.conf"
        w = self.work
        conf.write_text(f"""
worker_processes auto;
daemon off;
pid {w}/nginx.pid;
error_log {w}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {w}/nginx-body;
    proxy_temp_path {w}/nginx-proxy;
    fastcgi_temp_path {w}/nginx-fastcgi;
    uwsgi_temp_path {w}/nginx-uwsgi;
    scgi_temp_path {w}/nginx-scgi;
    keepalive_requests 1000000;
    upstream source {{ server 127.0.0.1:9101; keepalive 256; }}
    server {{
        listen {NGINX_PROXY};
        location / {{
            proxy_pass http://source;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }}
    }}
    server {{
        listen {NGINX_STATIC};
        sendfile on;
        tcp_nopush on;
        location = /record.json {{
            root {static};
            default_type "{content_type}";
        }}
    }}
}}
""")
        self.nginx_proc = Proc("nginx", [self.nginx, "-c", str(conf), "-p", str(w)],
                               log_path=w / "nginx.log")
        self.procs.append(self.nginx_proc)
        wait_port(NGINX_PROXY)
        wait_port(NGINX_STATIC)

    # --- load -------------------------------------------------------------

    def oha(self, url: str, *, rate: int | None = None, conns: int, seconds: int,
            headers: list[str] = (), urls_file: bool = False) -> dict:
        argv = [self.oha_bin, "--no-tui", "--output-format", "json", "-z", f"{seconds}s",
                "-c", str(conns)]
        if rate:
            # Latency from when each request was due, not when it was sent
            # (no coordinated omission when the server falls behind).
            argv += ["-q", str(rate), "--latency-correction"]
        for h in headers:
            argv += ["-H", h]
        if urls_file:
            argv += ["--urls-from-file"]
        argv.append(url)
        out = subprocess.run(argv, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    # --- phases -----------------------------------------------------------

    def run(self) -> None:
        a = self.args
        for addr in [GATEWAY, NGINX_PROXY, NGINX_STATIC, "127.0.0.1:9100", "127.0.0.1:9101"]:
            if not port_free(addr):
                raise SystemExit(f"{addr} is in use: stop what holds it and run again")
        cfg = self.config()
        self.start_sim(cfg)
        token = self.token(cfg)
        auth = [f"Authorization: Bearer {token}"]
        record_url = f"http://{GATEWAY}/v1/patients/{PATIENT}/record"

        # The response bytes nginx will serve: the warm view, as the gateway sends it.
        self.set_latency(0)
        gw = self.start_gateway(cfg, "probe")
        status, headers, body = http("GET", record_url, headers={"Authorization": f"Bearer {token}"})
        if status != 200:
            raise SystemExit(f"the gateway answered {status} for {PATIENT}")
        view = json.loads(body)
        statuses = {s.get("id", s.get("source")): s.get("status")
                    for s in view.get("sources", [])}
        self.results["view"] = {"bytes": len(body), "sources": statuses}
        log(f"view of {PATIENT}: {len(body)} bytes from {len(statuses)} sources: {statuses}")
        gw.stop()
        self.start_nginx(body, headers.get("Content-Type", "application/json"))

        # latency: fixed source delay, cache off, fixed rates.
        self.set_latency(a.source_latency_ms)
        gw = self.start_gateway(cfg, "latency", ICR_CACHE__ENABLED="false")
        http("GET", record_url, headers={"Authorization": f"Bearer {token}"})  # connect pools
        rows = []
        for rate in a.rates:
            conns = max(16, rate * 2 // 5)  # room for 400 ms in flight at this rate
            log(f"latency: {rate}/s for {a.seconds} s (gateway, source direct, nginx proxy)")
            # Warm up at this rate first: a step up in rate makes the
            # gateway open new connections to the FHIR servers in bursts,
            # and the first seconds' p99 (about 0.4 s here) would be that.
            self.oha(record_url, rate=rate, conns=conns, seconds=a.warmup_seconds, headers=auth)
            before = added_histogram(gw)
            outcomes = source_outcomes()
            cpu = (gw.cpu_seconds(), self.sim.cpu_seconds())
            g = self.oha(record_url, rate=rate, conns=conns, seconds=a.seconds, headers=auth)
            added = diff(added_histogram(gw), before)
            outcomes = diff(source_outcomes(), outcomes)
            cpu = (gw.cpu_seconds() - cpu[0], self.sim.cpu_seconds() - cpu[1])
            d = self.oha(DIRECT_URL, rate=rate, conns=conns, seconds=a.seconds)
            n = self.oha(f"http://{NGINX_PROXY}" + DIRECT_URL.split("9101", 1)[1], rate=rate,
                         conns=conns, seconds=a.seconds)
            rows.append({"rate": rate, "gateway": g, "direct": d, "nginx_proxy": n,
                         "added": added, "outcomes": outcomes,
                         "cpu": {"gateway": cpu[0], "sim": cpu[1]}})
        self.results["phases"]["latency"] = {
            "source_latency_ms": a.source_latency_ms, "rows": rows,
            "gateway_peak_rss": gw.peak(),
        }
        gw.stop()

        # cold: sources at once, cache off, saturation.
        self.set_latency(0)
        gw = self.start_gateway(cfg, "cold", ICR_CACHE__ENABLED="false")
        log(f"cold: saturation, {a.conns} connections, {a.seconds} s")
        self.oha(record_url, conns=a.conns, seconds=a.warmup_seconds, headers=auth)
        cpu = (gw.cpu_seconds(), self.sim.cpu_seconds())
        outcomes = source_outcomes()
        cold = self.oha(record_url, conns=a.conns, seconds=a.seconds, headers=auth)
        outcomes = diff(source_outcomes(), outcomes)
        cpu = (gw.cpu_seconds() - cpu[0], self.sim.cpu_seconds() - cpu[1])
        self.results["phases"]["cold"] = {"oha": cold, "gateway_peak_rss": gw.peak(),
                                          "outcomes": outcomes,
                                          "cpu": {"gateway": cpu[0], "sim": cpu[1]}}
        gw.stop()

        # warm: cache on, every request a hit; nginx static beside it.
        gw = self.start_gateway(cfg, "warm")
        http("GET", record_url, headers={"Authorization": f"Bearer {token}"})
        log(f"warm: saturation, {a.conns} connections, {a.seconds} s")
        self.oha(record_url, conns=a.conns, seconds=a.warmup_seconds, headers=auth)
        before = added_histogram(gw)
        warm_cpu = gw.cpu_seconds()
        warm = self.oha(record_url, conns=a.conns, seconds=a.seconds, headers=auth)
        warm_cpu = gw.cpu_seconds() - warm_cpu
        warm_added = diff(added_histogram(gw), before)
        warm_peak = gw.peak()
        gw.stop()
        log("nginx static: saturation")
        static = self.oha(f"http://{NGINX_STATIC}/record.json", conns=a.conns, seconds=a.seconds)
        self.results["phases"]["warm"] = {"oha": warm, "gateway_peak_rss": warm_peak,
                                          "nginx_static": static, "added": warm_added,
                                          "cpu": {"gateway": warm_cpu}}

        self.population(token)
        if a.short:
            return

        # memory: a small cache, every person, sustained.
        people = self.people(cfg)
        urls = self.work / "people-urls.txt"
        urls.write_text("".join(f"http://{GATEWAY}/v1/patients/{n}/record\n" for n in people))
        runs = []
        for cap_mib in a.memory_cache_mib:
            cap = cap_mib * 1024 * 1024
            gw = self.start_gateway(cfg, f"memory-{cap_mib}", ICR_CACHE__MAX_BYTES=cap)
            base_rss = gw.rss()
            log(f"memory: {len(people)} people, cache cap {cap_mib} MiB, {a.memory_seconds} s")
            mem = self.oha(str(urls), conns=a.conns, seconds=a.memory_seconds, headers=auth,
                           urls_file=True)
            _, _, metrics = http("GET", f"http://{GATEWAY}/metrics")
            runs.append({
                "people": len(people), "cache_cap": cap,
                "cache_bytes_end": metric(metrics.decode(), "icr_cache_bytes"),
                "start_rss": base_rss, "end_rss": gw.rss(), "peak_rss": gw.peak(),
                "rss_samples": gw.samples, "oha": mem,
            })
            gw.stop()
        self.results["phases"]["memory"] = runs

    def people(self, cfg: Path) -> list[str]:
        """NHS numbers of everyone holding a record at one of `cfg`'s sources."""
        return subprocess.run(
            [self.args.people] + [str(20261101), str(1200)]
            + [p.stem for p in (cfg / "sources.d").glob("*.toml")],
            check=True, capture_output=True, text=True,
        ).stdout.split()

    def population(self, token: str) -> None:
        """Every person (or a sample), twice, through the whole region."""
        a = self.args
        cfg = self.config("config-region", left_out=[])
        located = []
        if a.population_located:
            # Every source routed to everyone may be skipped by the index
            # (config/demo/record-index.toml) and by the not_found memory.
            for f in sorted((cfg / "sources.d").glob("*.toml")):
                text = f.read_text()
                if "\nrouting = " in text:
                    continue
                f.write_text(text.replace("\nid = ", "\nlocated = true\nid = ", 1))
                located.append(f.stem)
        people = self.people(cfg)
        if a.population_people:
            people = people[: a.population_people]
        self.set_latency(0)
        memory = {"ICR_CACHE__NOT_FOUND_TTL_S": 600} if a.population_located else {}
        gw = self.start_gateway(cfg, "population", ICR_CACHE__ENABLED="false", **memory)
        log(f"population: {len(people)} people, twice, the whole region, cache off, "
            f"located: {', '.join(located) or 'none'}")
        passes = []
        for n in (1, 2):
            calls = source_calls()
            outcomes = source_outcomes()
            started = time.monotonic()
            statuses = fetch_all(
                [f"http://{GATEWAY}/v1/patients/{p}/record" for p in people],
                {"Authorization": f"Bearer {token}"}, workers=8,
            )
            passes.append({
                "pass": n, "requests": len(people), "seconds": time.monotonic() - started,
                "statuses": statuses, "calls": source_calls() - calls,
                "outcomes": diff(source_outcomes(), outcomes),
            })
        gw.stop()
        self.results["phases"]["population"] = {"people": len(people), "passes": passes,
                                                "located": located}

    def cleanup(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work}")


def added_histogram(gw: Proc) -> dict[float, float]:
    """The gateway's own `icr_record_added_seconds` buckets (cumulative)."""
    _, _, body = http("GET", f"http://{GATEWAY}/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("icr_record_added_seconds_bucket{le="):
            le = line.split('"')[1]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def source_outcomes() -> dict[str, float]:
    """Source calls so far by status, over every source."""
    _, _, body = http("GET", f"http://{GATEWAY}/metrics")
    out: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("icr_source_outcomes_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            out[status] = out.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def source_calls() -> float:
    """Calls made to sources so far (first attempts and retries), all sources."""
    _, _, body = http("GET", f"http://{GATEWAY}/metrics")
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
               if line.startswith("icr_source_calls_total{"))


def fetch_all(urls: list[str], headers: dict, workers: int, method: str = "GET") -> dict[str, int]:
    """Asks every URL (GET, or `method`), `workers` at a time; the count of
    each status."""
    from concurrent.futures import ThreadPoolExecutor

    def one(url: str) -> str:
        try:
            return str(http(method, url, headers=headers)[0])
        except urllib.error.HTTPError as e:
            return str(e.code)
        except Exception as e:  # noqa: BLE001 - counted, not raised
            return type(e).__name__

    out: dict[str, int] = {}
    with ThreadPoolExecutor(workers) as pool:
        for status in pool.map(one, urls):
            out[status] = out.get(status, 0) + 1
    return out


def outcome_share(o: dict) -> str:
    total = sum(o.values())
    if not total:
        return "—"
    answered = o.get("ok", 0) + o.get("not_found", 0) + o.get("skipped", 0)
    rest = ", ".join(f"{k} {v:.0f}" for k, v in sorted(o.items())
                     if k not in ("ok", "not_found", "skipped") and v)
    return f"{100 * answered / total:.1f} %" + (f" ({rest})" if rest else "")


def diff(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def quantile(buckets: dict, q: float) -> float | None:
    """The q-quantile of cumulative buckets, interpolated within a bucket
    (as Prometheus' histogram_quantile does)."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for b in bounds:
        if buckets[b] >= rank:
            if b == float("inf"):
                return lower
            inside = buckets[b] - below
            return lower + (b - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = b, buckets[b]
    return lower


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": os.uname().release}


# --- report ------------------------------------------------------------------

def ms(x: float | None) -> str:
    return "—" if x is None else f"{x * 1000:.2f}"


def pct(o: dict, p: str) -> float | None:
    return (o.get("latencyPercentiles") or {}).get(p)


def rps(o: dict) -> float:
    return o["summary"]["requestsPerSec"]


def ok_share(o: dict) -> str:
    """200s out of the requests answered (oha's requests still in flight
    when the run's time was up are left out)."""
    codes = o.get("statusCodeDistribution") or {}
    errors = {k: v for k, v in (o.get("errorDistribution") or {}).items()
              if k != "aborted due to deadline"}
    total = sum(codes.values()) + sum(errors.values())
    return f"{codes.get('200', 0)}/{total}"


def mib(b: float | None) -> str:
    return "—" if b is None else f"{b / 1048576:.1f}"


def report(r: dict, args) -> str:
    m = r["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {mib(m['memory'])} MiB, Linux {m['kernel']}; "
        "load generator, simulator, gateway and nginx all on it.",
        "",
        f"Merged view of {PATIENT}: {r['view']['bytes']} bytes from "
        f"{len(r['view']['sources'])} sources.",
        "",
    ]
    lat = r["phases"].get("latency")
    if lat:
        L = lat["source_latency_ms"]
        lines += [
            f"### Added latency (every source answers after {L} ms; cache off, so every request asks all ten)",
            "",
            f"Per-source limits raised for the benchmark: `[resilience] max_concurrent = {MAX_CONCURRENT}`, "
            f"MLLP `max_connections = {MLLP_CONNECTIONS}`. *Source calls answered* is the share of the ten "
            "sources' parts that were `ok` or `not_found` (two councils hold nothing for this person); a request is 200 when any source answered, so a source "
            "refused or timed out shows here, not in the 200s.",
            "",
            "*Added (own)* is the gateway's `icr_record_added_seconds`: each request's time in the "
            "handler minus the time it waited for its sources (authentication, policy, merge, audit, "
            "rendering). *Added (outside)* is oha's latency minus a floor of one source round trip "
            "(every FHIR R4 trust of the benchmark is read in one: four by a `batch`, one by chained "
            "searches in one wave; the HL7 v2 and SOAP sources take one each): the direct p50 (p99 "
            "for p99), *direct* being the `gwh` Patient search asked without the gateway at the same "
            "rate. nginx added = nginx proxy − direct, the same request. CPU is milliseconds per "
            "gateway request, of the gateway and of the simulator.",
            "",
            "| rate/s | achieved/s | 200s | gateway p50 | gateway p99 | added (own) p50 | added (own) p99 | "
            "added (outside) p50 | added (outside) p99 | direct p50 | direct p99 | nginx proxy p50 | "
            "nginx proxy p99 | nginx added p50 | nginx added p99 | CPU gateway | CPU sim | source calls answered |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in lat["rows"]:
            g, d, n = row["gateway"], row["direct"], row["nginx_proxy"]
            dp50, dp99 = pct(d, "p50"), pct(d, "p99")
            floor50 = dp50
            floor99 = dp99
            out50 = pct(g, "p50") - floor50 if floor50 is not None else None
            out99 = pct(g, "p99") - floor99 if floor99 is not None else None
            n50 = pct(n, "p50") - dp50 if dp50 is not None else None
            n99 = pct(n, "p99") - dp99 if dp99 is not None else None
            served = max(1.0, float((g.get("statusCodeDistribution") or {}).get("200", 0)))
            cpu = row.get("cpu") or {}
            lines.append(
                f"| {row['rate']} | {rps(g):.0f} | {ok_share(g)} | {ms(pct(g, 'p50'))} | "
                f"{ms(pct(g, 'p99'))} | {ms(quantile(row['added'], 0.5))} | "
                f"{ms(quantile(row['added'], 0.99))} | {ms(out50)} | {ms(out99)} | {ms(dp50)} | "
                f"{ms(dp99)} | {ms(pct(n, 'p50'))} | {ms(pct(n, 'p99'))} | {ms(n50)} | {ms(n99)} | "
                f"{1000 * cpu.get('gateway', 0) / served:.2f} | {1000 * cpu.get('sim', 0) / served:.2f} | "
                f"{outcome_share(row.get('outcomes') or {})} |"
            )
        lines += ["", f"Gateway peak RSS in this phase: {mib(lat['gateway_peak_rss'])} MiB.", ""]
    cold = r["phases"].get("cold")
    warm = r["phases"].get("warm")
    if cold and warm:
        c, w, s = cold["oha"], warm["oha"], warm["nginx_static"]
        lines += [
            f"### Throughput at saturation ({args.conns} connections, {args.seconds} s, sources answer at once)",
            "",
            "| what | requests/s | 200s | p50 ms | p99 ms | peak RSS MiB |",
            "|---|---:|---:|---:|---:|---:|",
            f"| gateway cold (cache off: ten sources asked per request; source calls answered: "
            f"{outcome_share(cold.get('outcomes') or {})}) | {rps(c):.0f} | {ok_share(c)} | "
            f"{ms(pct(c, 'p50'))} | {ms(pct(c, 'p99'))} | {mib(cold['gateway_peak_rss'])} |",
            f"| gateway warm (every source answer from the cache) | {rps(w):.0f} | {ok_share(w)} | "
            f"{ms(pct(w, 'p50'))} | {ms(pct(w, 'p99'))} | {mib(warm['gateway_peak_rss'])} |",
            f"| nginx, the same bytes as a static file | {rps(s):.0f} | {ok_share(s)} | "
            f"{ms(pct(s, 'p50'))} | {ms(pct(s, 'p99'))} | — |",
            "",
            f"Warm gateway / nginx static: {100 * rps(w) / rps(s):.1f} %. Warm requests' own "
            f"time in the gateway (`icr_record_added_seconds`): p50 {ms(quantile(warm['added'], 0.5))} ms, "
            f"p99 {ms(quantile(warm['added'], 0.99))} ms. CPU per request: gateway cold "
            f"{1000 * cold['cpu']['gateway'] / max(1, rps(c) * args.seconds):.2f} ms "
            f"(simulator {1000 * cold['cpu']['sim'] / max(1, rps(c) * args.seconds):.2f} ms), warm "
            f"{1000 * warm['cpu']['gateway'] / max(1, rps(w) * args.seconds):.3f} ms.",
            "",
        ]
    pop = r["phases"].get("population")
    if pop:
        lines += [
            f"### Source calls per request over the demo population ({pop['people']} people, "
            "every source of the region, cache off, each person asked twice)",
            "",
            ("Sources that may be skipped (`located = true`, with the demo's record-location index "
             "and `not_found_ttl_s = 600`): " + ", ".join(pop["located"]) + "."
             if pop.get("located") else "Every source asked for everyone (no index, no memory)."),
            "",
            "| pass | requests | statuses | source calls | calls per request | source outcomes |",
            "|---:|---:|---|---:|---:|---|",
        ]
        for p in pop["passes"]:
            st = ", ".join(f"{k} {v}" for k, v in sorted(p["statuses"].items()))
            oc = ", ".join(f"{k} {v:.0f}" for k, v in sorted(p["outcomes"].items()) if v)
            lines.append(f"| {p['pass']} | {p['requests']} | {st} | {p['calls']:.0f} | "
                         f"{p['calls'] / max(1, p['requests']):.2f} | {oc} |")
        lines.append("")
    lines += targets(r, args)
    for mem in r["phases"].get("memory") or []:
        o = mem["oha"]
        overhead = (mem["peak_rss"] or 0) - mem["cache_cap"]
        lines += [
            f"### Memory under sustained load ({args.memory_seconds} s over {mem['people']} people, "
            f"cache cap {mib(mem['cache_cap'])} MiB)",
            "",
            f"{rps(o):.0f} requests/s, {ok_share(o)} answered 200. Gateway RSS: "
            f"{mib(mem['start_rss'])} MiB at start, {mib(mem['end_rss'])} MiB at the end, peak "
            f"{mib(mem['peak_rss'])} MiB (peak minus cache cap: {mib(overhead)} MiB); the cache held "
            f"{mib(mem['cache_bytes_end'])} MiB (its own estimate) at the end.",
            "",
        ]
        samples = mem["rss_samples"]
        if samples:
            step = max(1, len(samples) // 10)
            pts = ", ".join(f"{t:.0f} s {mib(b)}" for t, b in samples[::step])
            lines += [f"RSS over time (MiB): {pts}.", ""]
    return "\n".join(lines)


def targets(r: dict, args) -> list[str]:
    """Issue 14's targets as measured in this run (empty when a phase is missing)."""
    out = []
    rows = {row["rate"]: row for row in (r["phases"].get("latency") or {}).get("rows", [])}
    if 100 in rows:
        g, d = rows[100]["gateway"], rows[100]["direct"]
        p50 = (pct(g, "p50") or 0) - (pct(d, "p50") or 0)
        p99 = (pct(g, "p99") or 0) - (pct(d, "p99") or 0)
        out.append(f"| 1. end-to-end at 100/s, sources at {args.source_latency_ms} ms, cache off, "
                   "minus one source round trip (direct) | "
                   f"p50 +{ms(p50)} ms, p99 +{ms(p99)} ms | p50 ≤ +5 ms, p99 ≤ +10 ms |")
    pop = r["phases"].get("population")
    if pop:
        per = [p["calls"] / max(1, p["requests"]) for p in pop["passes"]]
        out.append("| 2. source calls per request over the demo population, first / second pass | "
                   + " / ".join(f"{x:.2f}" for x in per) + " | fewer than every source |")
    if 200 in rows:
        out.append("| 3. own added time (`icr_record_added_seconds`) p99 at 200/s | "
                   f"{ms(quantile(rows[200]['added'], 0.99))} ms | ≤ 1 ms |")
    cold, warm = r["phases"].get("cold"), r["phases"].get("warm")
    if warm:
        out.append(f"| 4. warm rate / nginx static, same bytes | "
                   f"{100 * rps(warm['oha']) / max(1.0, rps(warm['nginx_static'])):.1f} % | ≥ 35 % |")
    if cold:
        c = cold["oha"]
        out.append(f"| 5. gateway CPU per cold ten-source record | "
                   f"{1000 * cold['cpu']['gateway'] / max(1, rps(c) * args.seconds):.2f} ms | ≤ 1.5 ms |")
    if not out:
        return []
    return ["### Issue 14's targets in this run", "", "| target | measured | aim |",
            "|---|---|---|", *out, ""]


def broken(r: dict) -> list[str]:
    """Phases that did not run or were never answered 200 (the smoke's check)."""
    problems = []
    ph = r["phases"]
    for name in ("latency", "cold", "warm", "population"):
        if name not in ph:
            problems.append(f"phase {name} did not run")
    for row in (ph.get("latency") or {}).get("rows", []):
        for side in ("gateway", "direct", "nginx_proxy"):
            if not (row[side].get("statusCodeDistribution") or {}).get("200"):
                problems.append(f"latency {row['rate']}/s: {side} answered no 200")
    for name, o in (("cold", (ph.get("cold") or {}).get("oha")),
                    ("warm", (ph.get("warm") or {}).get("oha")),
                    ("nginx static", (ph.get("warm") or {}).get("nginx_static"))):
        if o is not None and not (o.get("statusCodeDistribution") or {}).get("200"):
            problems.append(f"{name}: no 200")
    for p in (ph.get("population") or {}).get("passes", []):
        if not p["statuses"].get("200"):
            problems.append(f"population pass {p['pass']}: no 200 ({p['statuses']})")
        if p["calls"] <= 0 and p["pass"] == 1:
            problems.append("population pass 1: no source was called")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--icr", required=True, help="the `icr` binary with the demo feature (sim, token)")
    ap.add_argument("--icr-serve", help="the production `icr` binary (--no-default-features) "
                    "that serves; default: --icr")
    ap.add_argument("--people", required=True, help="the icr-sim `people` example binary")
    ap.add_argument("--oha", default="oha")
    ap.add_argument("--nginx", default="nginx")
    ap.add_argument("--out", default=str(ROOT / "target" / "load-bench"))
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                    default=[25, 50, 100, 200, 300, 500])
    ap.add_argument("--source-latency-ms", type=int, default=50)
    ap.add_argument("--warmup-seconds", type=int, default=3,
                    help="unmeasured run at each rate before the measured one")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--memory-seconds", type=int, default=60)
    ap.add_argument("--memory-cache-mib", type=lambda v: [int(x) for x in v.split(",")],
                    default=[8, 24], help="cache caps to run the memory phase at, MiB")
    ap.add_argument("--population-people", type=int, default=0,
                    help="people asked for in the population phase (0: everyone)")
    ap.add_argument("--population-located", action=argparse.BooleanOptionalAction, default=True,
                    help="in the population phase, let the record-location index and the not_found "
                    "memory skip the sources routed to everyone (default: on)")
    ap.add_argument("--short", action="store_true",
                    help="every phase but memory, briefly (under three minutes), then the targets")
    ap.add_argument("--smoke", action="store_true",
                    help="--short at a token size, for CI: fails only if a phase breaks")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.smoke:
        args.short = True
        args.seconds, args.warmup_seconds, args.rates = 1, 1, [25]
        args.population_people = args.population_people or 20
        args.conns = min(args.conns, 16)
    elif args.short:
        if "--rates" not in sys.argv:
            args.rates = [100, 200]
        if "--seconds" not in sys.argv:
            args.seconds = 5
        if "--warmup-seconds" not in sys.argv:
            args.warmup_seconds = 1
        args.population_people = args.population_people or 300
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()
    finish(b.out, b.results, report(b.results, args), broken(b.results))


def finish(out: Path, results: dict, text: str, problems: list[str]) -> None:
    """Writes OUT/results.json and OUT/report.md, prints the report, and
    exits 1 naming each problem, if any."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(text + "\n")
    print(text)
    if problems:
        for p in problems:
            log(f"BROKEN: {p}")
        sys.exit(1)


if __name__ == "__main__":
    main()
