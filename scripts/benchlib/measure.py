"""Measurement: one measured run of the API under wrk or of the raw database bench, with the CPU
and memory the processes involved used, and the reading of wrk's output. Each run returns a dict
that goes into the results file as it is; `report` renders it.
"""

import os
import re
import resource
import subprocess
import threading
from pathlib import Path

from .common import LIMIT, RAW_OP, TAG, WORK
from .procs import (Server, collect, last_json_line, on_core, raw_bench, run, spawn, twooter,
                    wrk_command)

# ---------------------------------------------------------------------------------------------
# CPU and memory

def process_cpu_seconds(pid):
    """User and system CPU a process has used so far, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces; the fields after it start with the state (field 3).
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_memory_kb(pid):
    """A process's resident memory now (VmRSS) and at its peak (VmHWM), in KiB."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0])
    except OSError:
        pass
    return values


def database_server_pid(backend):
    """The MariaDB server's process, whose CPU per operation the tables show; SQLite runs inside
    the measured process."""
    if backend != "mysql":
        return None
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(entry.name)
            except OSError:
                continue
    return None


class CpuMeter:
    """CPU used between start and finish by the database server and by reaped child processes."""

    def __init__(self, backend):
        self.db_pid = database_server_pid(backend)
        self.db = process_cpu_seconds(self.db_pid) if self.db_pid else None
        self.children = self._children()

    @staticmethod
    def _children():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def finish(self, operations):
        def per_op(seconds):
            return seconds * 1e6 / operations if seconds is not None and operations else None

        db = process_cpu_seconds(self.db_pid) if self.db_pid else None
        db_seconds = db - self.db if db is not None and self.db is not None else None
        return {"db_cpu_us_per_op": per_op(db_seconds),
                "children_cpu_us_per_op": per_op(self._children() - self.children)}


class MemorySampler(threading.Thread):
    """Samples a process's resident memory while a run lasts."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.done = threading.Event()
        self.max_rss_kb = 0

    def run(self):
        while not self.done.wait(0.1):
            self.max_rss_kb = max(self.max_rss_kb, process_memory_kb(self.pid).get("VmRSS", 0))

    def finish(self):
        self.done.set()
        self.join()
        memory = process_memory_kb(self.pid)
        self.max_rss_kb = max(self.max_rss_kb, memory.get("VmRSS", 0))
        return {"rss_mb": memory.get("VmRSS", 0) / 1024, "rss_sampled_peak_mb": self.max_rss_kb / 1024,
                "hwm_mb": memory.get("VmHWM", 0) / 1024}


# ---------------------------------------------------------------------------------------------
# wrk

def post_script():
    path = WORK / "post.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.body = \'{"text":"bench","tag":"bench"}\'\n'
        'wrk.headers["Content-Type"] = "application/json"\n')
    return path


ADMIN_KEYS = {}


def stats_script(url):
    """The statistics need an admin key: one made on the run's database, sent by wrk."""
    if url not in ADMIN_KEYS:
        _, out, _ = twooter(url, "keys", "create", "--name", "bench", "--role", "admin", timeout=120)
        keys = [line for line in out.splitlines() if line.startswith("twt_")]
        if not keys:
            raise RuntimeError(f"twooter keys create printed no key:\n{out}")
        ADMIN_KEYS[url] = keys[0]
    path = WORK / "stats.lua"
    path.write_text(f'wrk.headers["Authorization"] = "Bearer {ADMIN_KEYS[url]}"\n')
    return path


def api_path(key, found):
    paths = {
        "healthz": lambda: "/healthz",
        "tag": lambda: f"/messages?tag={TAG}&limit={LIMIT}",
        "all": lambda: f"/messages?limit={LIMIT}",
        "deep": lambda: f"/messages?tag={TAG}&limit={LIMIT}&before={found['deep_before']}",
        "get": lambda: f"/messages/{found['get_id']}",
        "stats": lambda: "/management/message-stats",
        "post": lambda: "/messages",
    }
    # Only the path asked for reads the probe, so posts need none.
    return paths[key]()


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(out):
    def latency(percent):
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
        return float(match.group(1)) * UNITS_MS[match.group(2)] if match else None

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    total = re.search(r"^\s*(\d+) requests in", out, re.M)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not rate or not total:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                             map(int, sockets.groups()))) if sockets else {}
    return {
        "rps": float(rate.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "socket_errors": socket_errors,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


# ---------------------------------------------------------------------------------------------
# Measured runs

def api_run(args, backend, url, key, found, connections, label, extra_env=None):
    """A fresh server per run, so its memory peak is this run's; extra_env adds settings."""
    server = Server(url, args.pool, WORK / "logs" / f"{label}.log", extra_env=extra_env)
    try:
        path = api_path(key, found)
        script = {"post": post_script, "stats": lambda: stats_script(url)}.get(key, lambda: None)()
        if args.warmup:
            run(wrk_command(server.port, path, connections, args.warmup, script),
                timeout=args.warmup + 60)
        cmd = wrk_command(server.port, path, connections, args.duration, script)
        meter = CpuMeter(backend)
        load = spawn(cmd, cwd=WORK, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cpu = process_cpu_seconds(server.pid) or 0.0
        sampler = MemorySampler(server.pid)
        sampler.start()
        try:
            _, out, _ = collect(load, cmd, timeout=args.duration + 60)
        finally:
            memory = sampler.finish()
        cpu = (process_cpu_seconds(server.pid) or 0.0) - cpu
        (WORK / "logs" / f"{label}.wrk.txt").write_text(out)
        result = parse_wrk(out)
        result.update(memory, ready_ms=server.ready_ms, cpu_s=cpu,
                      cpu_us_per_op=cpu * 1e6 / result["requests"] if result["requests"] else None)
        # The one child reaped while the meter ran is wrk.
        cpu_use = meter.finish(result["requests"])
        result.update(db_cpu_us_per_op=cpu_use["db_cpu_us_per_op"],
                      wrk_cpu_us_per_op=cpu_use["children_cpu_us_per_op"])
        result["errors"] = result["non2xx"] + sum(result["socket_errors"].values())
        return result
    finally:
        server.stop()


def raw_run(args, backend, url, key, found, connections):
    op = RAW_OP[key]
    cmd = on_core(1, [raw_bench()]) + [
        "run", "--url", url, "--op", op, "--concurrency", connections, "--pool", args.pool,
        "--duration", f"{args.duration}s", "--warmup", f"{args.warmup}s", "--tag", TAG,
        "--limit", LIMIT]
    if key == "deep":
        cmd += ["--before", found["deep_before"]]
    if key == "get":
        cmd += ["--id", found["get_id"]]
    meter = CpuMeter(backend)
    _, out, _ = run(cmd, timeout=args.duration + args.warmup + 120)
    result = last_json_line(out)
    # Warm-up operations are not counted by the bench, so the database's share is per measured
    # operation over warm-up and run alike; scaled to the measured part.
    seconds = args.duration + args.warmup
    db = meter.finish(result["ops"])["db_cpu_us_per_op"]
    result["db_cpu_us_per_op"] = db * args.duration / seconds if db is not None else None
    return result
