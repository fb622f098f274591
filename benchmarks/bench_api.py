"""Benchmark: the HTTP service under load from a second process on loopback, with 1,000,000 incidents.

The server is a separate ``python -m veilig.api serve --port P`` process (one uvicorn worker, as
``veilig serve`` runs it; tiles off) on a database filled the way an operator fills it:
``veilig demo --seed 1 --incidents N``, ``veilig import incidents``, ``veilig users add``. This
process is only the load generator and never imports veilig itself. It measures:

* **the hotspot map** ``/maps/hotspots?category=drugs`` for a planner and for an analyst (whose map
  carries the incident points):

  - *first request*: analysis and HTML build of the default period (all data);
  - *cached*: the same URL over and over with ``wrk`` (Debian's ``wrk``, ``-H Authorization``),
    1 and 8 connections for ``--duration`` seconds each, p50/p95 from wrk's own histogram; and the
    same URL with ``If-None-Match`` (the 304 a browser gets);
  - *uncached*: a sequential Python client (httpx, one request at a time, each timed) in which every
    request asks for a different period (``start`` moves one day per request, planner and analyst
    on different days), so neither the analysis cache (keyed on category, period, parameters and data
    version) nor the map cache (keyed on route, parameters, role and data version) can answer. The data
    version is not touched: each request pays the full load + analysis + HTML build, as after an
    import. Bounded by ``--uncached`` requests and ``--uncached-seconds`` per role;

* **named peers** on the same machine, measured in the same run with the same wrk settings on the same
  HTML bytes the cached map returned: Python's ``python -m http.server`` serving them as static files,
  and a bare uvicorn + Starlette app returning them from memory (veilig's stack minus veilig: token
  lookup, data-version queries, audit row, cache, middleware);

* **the HTML size** of each map (hotspots drugs and burglary for planner and analyst, rhythm map,
  subsidy map) against the aim of at most 1 MB for any planner map;

* **64 concurrent subsidy completions** over HTTP: a pilot whose budget covers exactly 37 grants of
  250 euro, 64 ``received`` applications (invoice date missing), then 64 threads, each with its own
  connection, released together by a barrier, each ``POST .../applications/{id}/complete``. Reported:
  the HTTP answers, how many were reserved (must be 37), the final budget (reserved + paid <= total)
  and the throughput;

* **the server's peak memory** (``VmHWM`` of the server process from ``/proc/<pid>/status``) after each phase.

Everything runs against SQLite and, when a server answers on 127.0.0.1:5432, a fresh PostgreSQL
database (``--backends``). Only loopback traffic; every loop is bounded in count and time.

    python benchmarks/bench_api.py [--n 1000000] [--duration 8] [--uncached 6] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_pg_database, fresh_pg_database, print_table

HOTSPOT = "/maps/hotspots?category=drugs"
PLANNER_AIM_BYTES = 1_000_000
GRANT_CENTS = 25_000  # 50 % of a 500 euro invoice, capped at 250 euro
BUDGET_GRANTS = 37
RACERS = 64

# wrk prints its own summary; this script adds one JSON line with the numbers we need.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %.0f, "p95_us": %.0f, '
    .. '"p99_us": %.0f, "max_us": %.0f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# The peer: uvicorn + Starlette returning the very same bytes from memory (async, no database).
PEER_STARLETTE = r"""
import pathlib, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

pages = {p.name: p.read_bytes() for p in pathlib.Path(sys.argv[1]).glob("*.html")}

async def page(request):
    return Response(pages[request.path_params["name"]], media_type="text/html; charset=utf-8")

app = Starlette(routes=[Route("/{name}", page)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


# ----------------------------------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (with few values the p95 is the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}" if seconds < 10 else f"{seconds * 1000:,.0f}"


def mb(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.2f}"


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of a process, in MB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def veilig(env: dict[str, str], *args: str) -> tuple[str, float, float]:
    """Run the ``veilig`` command line in a child; (stdout, seconds, child's max RSS in MB)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "veilig.api", *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"veilig {' '.join(args)} failed:\n{stdout[-2000:]}\n{err.read()[-3000:]}")
    return stdout, seconds, usage.ru_maxrss / 1024


class Server:
    """A child process serving HTTP on 127.0.0.1:port, stopped by its own pid."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path, health: str = "/health"):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self._log = open(log, "w")  # noqa: SIM115 (open while the server runs)
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + health, timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not answer within 300 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def memory(self) -> dict[str, float]:
        return proc_status(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_wrk(url: str, lua: Path, connections: int, duration: float, headers: dict[str, str]) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "60s", "-s", str(lua)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    proc = subprocess.run(argv + [url], capture_output=True, text=True, timeout=duration + 120, check=False)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    r = json.loads(line[len("WRKJSON "):])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def wrk_row(backend: str, what: str, tool: str, conns: int, r: dict, size: int | None) -> list[object]:
    problems = []
    if r["status"]:
        problems.append(f"{r['status']} non-2xx/3xx")
    if r["errors"]:
        problems.append(f"{r['errors']} socket errors")
    return [backend, what, tool, conns, f"{r['requests']:,}", ms(r["p50_us"] / 1e6), ms(r["p95_us"] / 1e6),
            f"{r['rps']:,.1f}", "-" if size is None else mb(size), "; ".join(problems) or "ok"]


def timed_get(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    resp = client.get(url, headers=headers)
    return time.perf_counter() - t0, resp


# ------------------------------------------------------------------------------------------ phases

def fill_database(env: dict[str, str], parquet: Path, backend: str, setup_rows: list) -> dict[str, str]:
    """Import the demo incidents and create one user per role; the tokens by role."""
    out, seconds, peak = veilig(env, "import", "incidents", str(parquet))
    setup_rows.append([backend, "veilig import incidents (CLI)", f"{seconds:.1f}", f"{peak:.0f}",
                       " ".join(out.split())[:90]])
    tokens = {}
    t0 = time.perf_counter()
    for role in ("planner", "analyst", "subsidy", "admin"):
        out, _, _ = veilig(env, "users", "add", f"bench-{role}", "--role", role)
        tokens[role] = out.strip().splitlines()[-1].strip()
    setup_rows.append([backend, "veilig users add x 4 (CLI)", f"{time.perf_counter() - t0:.1f}", "-", ""])
    return tokens


def hotspot_phase(server: Server, backend: str, tokens: dict[str, str], args, tmp: Path,
                  latency_rows: list, memory_rows: list) -> dict[str, bytes]:
    """First request, cached (wrk) and uncached (distinct periods) latency for planner and analyst."""
    lua = tmp / "report.lua"
    lua.write_text(WRK_LUA)
    pages: dict[str, bytes] = {}
    with httpx.Client(base_url=server.base, timeout=600) as client:
        for role in ("planner", "analyst"):
            auth = {"Authorization": f"Bearer {tokens[role]}"}
            seconds, resp = timed_get(client, HOTSPOT, auth)
            resp.raise_for_status()
            pages[role] = resp.content
            latency_rows.append([backend, f"{role}: first request (analysis + HTML)", "httpx, sequential", 1, 1,
                                 ms(seconds), ms(seconds), f"{1 / seconds:.2f}", mb(len(resp.content)), "ok"])
            memory_rows.append([backend, f"after first {role} hotspot map", *_mem(server)])
        for role in ("planner", "analyst"):
            auth = {"Authorization": f"Bearer {tokens[role]}"}
            for conns in (1, 8):
                r = run_wrk(server.base + HOTSPOT, lua, conns, args.duration, auth)
                latency_rows.append(wrk_row(backend, f"{role}: cached (same URL)", "wrk", conns, r, len(pages[role])))
            memory_rows.append([backend, f"after cached {role} load", *_mem(server)])
        etag = client.get(HOTSPOT, headers={"Authorization": f"Bearer {tokens['planner']}"}).headers["etag"]
        r = run_wrk(server.base + HOTSPOT, lua, 8, args.duration,
                    {"Authorization": f"Bearer {tokens['planner']}", "If-None-Match": etag})
        latency_rows.append(wrk_row(backend, "planner: cached, If-None-Match -> 304", "wrk", 8, r, 0))

        for role, offset in (("planner", 1), ("analyst", 201)):
            auth = {"Authorization": f"Bearer {tokens[role]}"}
            times, sizes, bad = [], [], 0
            t_all = time.perf_counter()
            for i in range(args.uncached):
                start = date(2023, 1, 1) + timedelta(days=offset + i)
                seconds, resp = timed_get(client, f"{HOTSPOT}&start={start}&end=2025-12-31", auth)
                times.append(seconds)
                sizes.append(len(resp.content))
                bad += resp.status_code != 200
                if time.perf_counter() - t_all > args.uncached_seconds:
                    break
            wall = time.perf_counter() - t_all
            latency_rows.append([backend, f"{role}: uncached (new period each request)", "httpx, sequential", 1,
                                 len(times), ms(percentile(times, 50)), ms(percentile(times, 95)),
                                 f"{len(times) / wall:.2f}", mb(max(sizes)),
                                 f"{bad} not 200" if bad else "ok"])
            memory_rows.append([backend, f"after uncached {role} requests", *_mem(server)])
    return pages


def other_maps(server: Server, backend: str, tokens: dict[str, str], pages: dict[str, bytes],
               latency_rows: list, size_rows: list, memory_rows: list) -> None:
    """Size (and first-request time) of every map a role opens from the index page.

    First the cached hotspot URL once more: the subsidy race changed only the ledger, not the incidents.
    """
    with httpx.Client(base_url=server.base, timeout=600) as client:
        for role in ("planner", "analyst"):
            seconds, resp = timed_get(client, HOTSPOT, {"Authorization": f"Bearer {tokens[role]}"})
            latency_rows.append([backend, f"{role}: same URL after the 64 ledger writes of the race",
                                 "httpx, sequential", 1, 1, ms(seconds), ms(seconds), f"{1 / seconds:.2f}",
                                 mb(len(resp.content)), "ok" if resp.status_code == 200 else resp.status_code])
    for role in ("planner", "analyst"):
        size = len(pages[role])
        size_rows.append([backend, "hotspots drugs", role, f"{size:,}", mb(size),
                          _verdict(role, size), "see latency table"])
    maps = [
        ("hotspots burglary", "/maps/hotspots?category=burglary", "planner"),
        ("hotspots burglary", "/maps/hotspots?category=burglary", "analyst"),
        ("rhythm (theme jeugd)", "/maps/rhythm?theme=jeugd", "planner"),
        ("rhythm (theme jeugd)", "/maps/rhythm?theme=jeugd", "analyst"),
        ("subsidy (open pilot)", "/maps/subsidy", "subsidy"),
    ]
    with httpx.Client(base_url=server.base, timeout=600) as client:
        for name, url, role in maps:
            seconds, resp = timed_get(client, url, {"Authorization": f"Bearer {tokens[role]}"})
            size = len(resp.content)
            if resp.status_code != 200:
                size_rows.append([backend, name, role, f"HTTP {resp.status_code}", "-", resp.text[:80], ms(seconds)])
                continue
            size_rows.append([backend, name, role, f"{size:,}", mb(size), _verdict(role, size), ms(seconds)])
    memory_rows.append([backend, "after the other maps", *_mem(server)])


def _verdict(role: str, size: int) -> str:
    if role != "planner":
        return "no aim (not a planner map)"
    return "ok (<= 1 MB)" if size <= PLANNER_AIM_BYTES else f"OVER by {mb(size - PLANNER_AIM_BYTES)} MB"


def _mem(server: Server) -> list[str]:
    m = server.memory()
    return [f"{m['VmHWM']:.0f}", f"{m['VmRSS']:.0f}"]


def subsidy_race(server: Server, backend: str, tokens: dict[str, str], race_rows: list, memory_rows: list) -> None:
    """64 threads complete 64 received applications at once against a budget of exactly 37 grants."""
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
    with httpx.Client(base_url=server.base, timeout=120) as client:
        resp = client.post("/api/v1/subsidy/pilots", headers=admin, json={
            "name": f"bench {backend}", "budget_cents": BUDGET_GRANTS * GRANT_CENTS, "opens_on": "2026-01-01",
            "closes_on": "2026-12-31", "grant_percentage": 50, "max_grant_cents": GRANT_CENTS, "waiting_list": False})
        if resp.status_code != 201:
            raise RuntimeError(f"create pilot: {resp.status_code} {resp.text}")
        pilot_id = resp.json()["id"]
        ids = []
        t0 = time.perf_counter()
        for i in range(RACERS):
            resp = client.post("/api/v1/subsidy/applications", headers=desk, json={
                "applicant_name": f"aanvrager {i}", "postcode": f"{2711 + i % 19} AB", "house_number": i + 1,
                "buurt": "BU06370101", "object_type": "woning", "invoice_amount_cents": 50_000,
                "products": ["SKG*** cilinderslot"], "iban": "NL91ABNA0417164300"})
            if resp.status_code != 201 or resp.json()["status"] != "received":
                raise RuntimeError(f"apply: {resp.status_code} {resp.text}")
            ids.append(resp.json()["id"])
        setup_s = time.perf_counter() - t0

    barrier = threading.Barrier(RACERS + 1)
    results: list[tuple[float, float, int, str]] = [None] * RACERS  # type: ignore[list-item]

    def racer(k: int) -> None:
        with httpx.Client(base_url=server.base, timeout=300) as c:
            c.get("/health")  # open the connection before the start
            barrier.wait()
            t = time.perf_counter()
            try:
                r = c.post(f"/api/v1/subsidy/applications/{ids[k]}/complete", headers={
                    **desk, "Idempotency-Key": f"race-{backend}-{ids[k]}"}, json={"invoice_date": "2026-02-01"})
                code, status = r.status_code, (r.json().get("status") if r.status_code == 200 else r.text[:120])
            except httpx.HTTPError as exc:
                code, status = 0, type(exc).__name__
            results[k] = (t, time.perf_counter(), code, status)

    threads = [threading.Thread(target=racer, args=(k,)) for k in range(RACERS)]
    for t in threads:
        t.start()
    barrier.wait()
    for t in threads:
        t.join(330)
    if any(r is None for r in results):
        raise RuntimeError("a racer did not finish")
    wall = max(r[1] for r in results) - min(r[0] for r in results)
    latencies = [r[1] - r[0] for r in results]
    codes: dict[object, int] = {}
    for r in results:
        key = r[3] if r[2] == 200 else f"HTTP {r[2]}"
        codes[key] = codes.get(key, 0) + 1
    with httpx.Client(base_url=server.base, timeout=120) as client:
        budget = client.get("/api/v1/subsidy/budget", headers=desk, params={"pilot_id": pilot_id}).json()
        status = client.get("/api/v1/subsidy/status", headers=desk, params={"pilot_id": pilot_id}).json()
    reserved_n = status["counts"].get("reserved", 0)
    ok_budget = budget["reserved_cents"] + budget["paid_cents"] <= budget["total_cents"]
    verdict = "ok" if reserved_n == BUDGET_GRANTS and ok_budget and budget["reserved_cents"] == reserved_n * GRANT_CENTS \
        else "WRONG"
    race_rows.append([
        backend, RACERS, ", ".join(f"{v} {k}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1])),
        f"{reserved_n} (aim {BUDGET_GRANTS})",
        f"{budget['total_cents']} / {budget['reserved_cents']} / {budget['paid_cents']} / {budget['remaining_cents']}",
        verdict, f"{wall:.2f}", f"{RACERS / wall:.1f}", ms(percentile(latencies, 50)), ms(percentile(latencies, 95)),
        f"{RACERS / setup_s:.1f}"])
    memory_rows.append([backend, "after the subsidy race", *_mem(server)])


def peers(pages: dict[str, bytes], args, tmp: Path, latency_rows: list, memory_rows: list) -> None:
    """The same HTML bytes served by python -m http.server and by bare uvicorn + Starlette."""
    static = tmp / "static"
    static.mkdir(exist_ok=True)
    for role, body in pages.items():
        (static / f"{role}.html").write_bytes(body)
    lua = tmp / "report.lua"
    env = {**os.environ}
    for label, argv_fn in (
        ("peer: python -m http.server (static file)",
         lambda port: [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(static)]),
        ("peer: uvicorn + Starlette (bytes in memory)",
         lambda port: [sys.executable, "-c", PEER_STARLETTE, str(static), str(port)]),
    ):
        port = free_port()
        server = Server(argv_fn(port), env, port, tmp / f"peer{port}.log", health="/planner.html")
        try:
            for role, body in pages.items():
                for conns in (1, 8):
                    r = run_wrk(f"{server.base}/{role}.html", lua, conns, args.duration, {})
                    latency_rows.append(wrk_row("-", f"{role} map HTML, same bytes", label, conns, r, len(body)))
            memory_rows.append(["-", label, *_mem(server)])
        finally:
            server.stop()


# -------------------------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="demo incidents in the database (at most 1,000,000)")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    ap.add_argument("--uncached", type=int, default=6, help="uncached requests per role")
    ap.add_argument("--uncached-seconds", type=float, default=150.0, help="time limit of the uncached loop per role")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")

    load_before = os.getloadavg()
    setup_rows: list = []
    latency_rows: list = []
    size_rows: list = []
    race_rows: list = []
    memory_rows: list = []
    peer_pages: dict[str, bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="bench_api_") as tmp_name:
        tmp = Path(tmp_name)
        parquet = tmp / "demo.parquet"
        base_env = {**os.environ, "VEILIG_TILES_ENABLED": "false", "VEILIG_DATA_DIR": str(tmp)}
        _, seconds, peak = veilig(base_env, "demo", "--seed", "1", "--incidents", str(args.n), "--out", str(parquet))
        setup_rows.append(["-", f"veilig demo --seed 1 --incidents {args.n} (CLI)", f"{seconds:.1f}", f"{peak:.0f}",
                           f"{parquet.stat().st_size / 1e6:.1f} MB GeoParquet"])
        for backend in args.backends.split(","):
            pg_url = None
            if backend == "sqlite":
                url = f"sqlite:///{tmp / 'bench.db'}"
            elif backend == "postgresql":
                pg_url = url = fresh_pg_database()
                if url is None:
                    continue
            else:
                sys.exit(f"unknown backend {backend}")
            env = {**base_env, "VEILIG_DATABASE_URL": url}
            server = None
            try:
                tokens = fill_database(env, parquet, backend, setup_rows)
                port = free_port()
                t0 = time.perf_counter()
                server = Server([sys.executable, "-m", "veilig.api", "serve", "--port", str(port)], env, port,
                                tmp / f"server-{backend}.log")
                setup_rows.append([backend, "server start until /health answers", f"{time.perf_counter() - t0:.1f}",
                                   f"{server.memory()['VmHWM']:.0f}", "VmHWM of the server"])
                memory_rows.append([backend, "after start", *_mem(server)])
                pages = hotspot_phase(server, backend, tokens, args, tmp, latency_rows, memory_rows)
                peer_pages = peer_pages or pages
                subsidy_race(server, backend, tokens, race_rows, memory_rows)
                other_maps(server, backend, tokens, pages, latency_rows, size_rows, memory_rows)
                print(f"done: {backend}", file=sys.stderr, flush=True)
            finally:
                if server is not None:
                    server.stop()
                if pg_url is not None:
                    drop_pg_database(pg_url)
        if peer_pages:
            peers(peer_pages, args, tmp, latency_rows, memory_rows)

    load_after = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load average (1/5/15 min) at start "
          f"{' / '.join(f'{v:.1f}' for v in load_before)}, at end {' / '.join(f'{v:.1f}' for v in load_after)} "
          "(the server and wrk each keep one core busy during a wrk row)")
    print_table("Set-up (not measured under load)", ["backend", "step", "time s", "peak MB", "note"], setup_rows)
    print_table(f"GET {HOTSPOT} with {args.n:,} demo incidents; load from a second process on loopback "
                f"(wrk: -t1, {args.duration:g} s per row, p50/p95 from its histogram; httpx: one request at a time, "
                "each timed, p95 nearest-rank)",
                ["backend", "what", "tool", "conns", "requests", "p50 ms", "p95 ms", "req/s", "HTML MB", "errors"],
                latency_rows)
    print_table(f"Map HTML size with {args.n:,} demo incidents (aim: <= 1 MB for planner maps, whatever the number "
                "of incidents)", ["backend", "map", "role", "bytes", "MB", "aim", "first request ms"], size_rows)
    print_table(f"{RACERS} concurrent subsidy completions over HTTP (64 threads, one connection each, barrier start) "
                f"against a budget of exactly {BUDGET_GRANTS} grants of {GRANT_CENTS} cents",
                ["backend", "requests", "answers", "reserved", "total / reserved / paid / remaining cents", "budget",
                 "wall s", "completions/s", "p50 ms", "p95 ms", "setup applies/s (sequential)"], race_rows)
    print_table("Peak memory of the server process (VmHWM, cumulative) and current RSS, by phase",
                ["backend", "after", "VmHWM MB", "VmRSS MB"], memory_rows)


if __name__ == "__main__":
    main()
