"""`--limiter`: what the rate limiter costs per request. The same read route under wrk, on the
same database, with RATE_LIMITS=off, then with a budget too large to refuse anything, decided in
process and then in Redis (the machine's shared Redis, a key per run). Each run is a fresh
server; the difference in the server's CPU per request and in latency is the limiter's cost."""

import socket
import urllib.parse

from .common import LIMIT, WORK, count_label, log
from .measure import api_run
from .procs import reset_database, twooter

ENDPOINT = "all"
# Four billion a minute: never refused, so every request pays for a whole decision.
HUGE = "read=4000000000/min"
REDIS_URL = "redis://127.0.0.1:6379"

SETTINGS = [
    ("off", {"RATE_LIMITS": "off"}),
    ("in process", {"RATE_LIMITS": HUGE}),
    ("Redis", {"RATE_LIMITS": HUGE, "REDIS_URL": REDIS_URL}),
]


def redis_reachable():
    parts = urllib.parse.urlsplit(REDIS_URL)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
        return True
    except OSError:
        return False


def bench(args, results):
    """Runs the three settings on a SQLite database of its own with the smallest size's twoots.
    The route reads the newest page, so it needs no ids from the raw bench."""
    backend, size = "sqlite", min(args.sizes)
    url = f"sqlite:{WORK / 'limiter.db'}"
    reset_database(backend, url)
    twooter(url, "migrate", timeout=600)
    twooter(url, "seed", "--count", str(size), "--seed", str(args.seed), timeout=1800)
    found = {"deep_before": None, "get_id": None}
    connections = args.connections[0]
    rows = []
    for name, env in SETTINGS:
        if "REDIS_URL" in env and not redis_reachable():
            log(f"[limiter] {name}: SKIPPED, nothing answers at {REDIS_URL}")
            continue
        label = f"limiter_{name.replace(' ', '_')}_c{connections}"
        run = api_run(args, backend, url, ENDPOINT, found, connections, label, extra_env=env)
        log(f"[limiter] {name:10} {run['rps']:9.0f} req/s p50 {run['p50_ms']:.3f} ms "
            f"p99 {run['p99_ms']:.3f} ms server CPU {run['cpu_us_per_op']:.1f} µs/req "
            f"errors {run['errors']}")
        # A decision Redis missed (50 ms) lets its request through for free and logs a warning
        # (at most every 10 s): a run with one measured less than the limiter's whole cost.
        log_text = (WORK / "logs" / f"{label}.log").read_text(errors="replace")
        run["failed_open_warnings"] = log_text.count("Redis cannot decide")
        rows.append({"setting": name, "env": env, "api": run})
    results["limiter"] = {"backend": backend, "size": size, "connections": connections,
                          "path": f"GET /messages?limit={LIMIT}", "rows": rows,
                          "size_label": count_label(size)}
