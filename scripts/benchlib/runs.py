"""The whole benchmark, in order: seeding each database, the API and raw runs of every endpoint
on it, and the import timing, collected into one results dict with the machine and commit."""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from .common import ENDPOINTS, RAW_OP, ROOT, TAG, WORK, count_label, log
from .measure import api_run, raw_run
from . import procs
from .procs import PINNING, database_url, probe, reset_database, twooter, write_csv
from .report import fmt_ms


def new_results(args, buffer_pool):
    """The results of a run about to start: what it runs on and with, and empty lists to fill."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "command": "scripts/bench " + " ".join(sys.argv[1:]),
        "settings": {"sizes": args.sizes, "backends": args.backends, "duration_s": args.duration,
                     "warmup_s": args.warmup, "connections": args.connections, "pool": args.pool,
                     "endpoints": args.endpoints, "import_rows": args.import_rows,
                     "pinned": PINNING["on"]},
        "versions": {"wrk": wrk_version()},
        "mysql_buffer_pool": buffer_pool,
        "seeds": [], "starts": [], "runs": [], "import": None,
    }


def estimated_minutes(args):
    per_database = sum(len(args.connections) * (2 if RAW_OP[key] else 1) for key in args.endpoints)
    return per_database * (args.warmup + args.duration + 0.5) * len(args.backends) * len(args.sizes) / 60


def prepare(args, backend, size):
    """Seeds the database for (backend, size) and returns (probe, seed timing or None)."""
    url = database_url(args, backend, size)
    marker = WORK / f"{backend}_{count_label(size)}.seeded.json"
    wanted = {"url": url, "count": size, "seed": args.seed}
    if args.reuse and marker.exists() and json.loads(marker.read_text()) == wanted:
        try:
            found = probe(url)
            if found["total"] >= size:
                log(f"[{backend} {count_label(size)}] reusing the seeded database")
                return found, None
        except (RuntimeError, ValueError, KeyError):
            pass
    marker.unlink(missing_ok=True)
    reset_database(backend, url)
    twooter(url, "migrate", timeout=600)
    log(f"[{backend} {count_label(size)}] seeding {size} twoots")
    started = time.monotonic()
    _, _, err = twooter(url, "seed", "--count", str(size), "--seed", str(args.seed))
    seconds = time.monotonic() - started
    log(f"[{backend} {count_label(size)}] seeded in {seconds:.1f} s ({size / seconds:.0f}/s)")
    marker.write_text(json.dumps(wanted))
    seeded = {"backend": backend, "rows": size, "seconds": seconds, "output": err.strip()[-300:]}
    return probe(url), seeded


def bench_database(args, backend, size, results):
    found, seeded = prepare(args, backend, size)
    if seeded:
        results["seeds"].append(seeded)
    name = f"{backend} {count_label(size)}"
    log(f"[{name}] {found['tag_count']} twoots tagged {TAG}; deep cursor {found['deep_before']}")
    results["versions"][backend] = found["version"]
    url = database_url(args, backend, size)
    starts = []
    for key in [key for key, _, _ in ENDPOINTS if key in args.endpoints]:
        for connections in args.connections:
            label = f"{backend}_{count_label(size)}_{key}_c{connections}"
            row = {"backend": backend, "size": size, "endpoint": key, "connections": connections}
            try:
                row["api"] = api_run(args, backend, url, key, found, connections, label)
                starts.append(row["api"]["ready_ms"])
            except RuntimeError as error:
                row["api"] = {"failure": str(error)}
            if RAW_OP[key]:
                try:
                    row["raw"] = raw_run(args, backend, url, key, found, connections)
                except (RuntimeError, ValueError) as error:
                    row["raw"] = {"failure": str(error)}
            results["runs"].append(row)
            log(f"[{name}] {key:7} c={connections:<4} {summary_line(row)}")
    if starts:
        results["starts"].append({"backend": backend, "size": size, "ready_ms": starts})


def bench_group_commit(args):
    """`--group-commit`: POST /messages with group commit on (the default POST_BATCH_MAX) and off
    (POST_BATCH_MAX=1), each at every --group-commit-connections, on each backend's database of
    the smallest size, in one run."""
    size = args.sizes[0]
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(), "machine": machine(),
        "command": "scripts/bench " + " ".join(sys.argv[1:]),
        "size": size, "duration_s": args.duration, "warmup_s": args.warmup, "pool": args.pool,
        "rounds": args.group_commit_rounds,
        "pinned": PINNING["on"], "versions": {"wrk": wrk_version()}, "runs": [],
    }
    for backend in args.backends:
        url = database_url(args, backend, size)
        version = fresh_database(backend, url)
        if version:
            results["versions"][backend] = version
        twooter(url, "migrate", timeout=600)
        twooter(url, "seed", "--count", str(size), "--seed", str(args.seed), timeout=3600)
        found = {}
        for connections in args.group_commit_connections:
            # On and off take turns, so that load from outside the run falls on both alike; the
            # round with the median rate stands for each.
            rounds = {"off": [], "on": []}
            for _ in range(args.group_commit_rounds):
                for mode, env in (("off", {"POST_BATCH_MAX": "1"}), ("on", {})):
                    label = f"group_commit_{backend}_{mode}_c{connections}"
                    try:
                        rounds[mode].append(api_run(args, backend, url, "post", found, connections,
                                                    label, env))
                    except RuntimeError as error:
                        rounds[mode].append({"failure": str(error)})
            for mode in ("off", "on"):
                row = {"backend": backend, "connections": connections, "group_commit": mode,
                       "api": median_run(rounds[mode]), "rounds": rounds[mode]}
                results["runs"].append(row)
                log(f"[{backend} group commit {mode:3}] c={connections:<4} {summary_line(row)} "
                    f"(median of {len(rounds[mode])})")
    return results


def median_run(measured):
    """The run with the median rate, or the first failure when any run failed."""
    failed = [run for run in measured if "failure" in run]
    if failed:
        return failed[0]
    return sorted(measured, key=lambda run: run["rps"])[len(measured) // 2]


def fresh_database(backend, url):
    """Empties the database at url with the database's own client, not the raw bench, which this
    comparison does not build; returns the server's version, if there is a server."""
    if backend == "sqlite":
        reset_database(backend, url)
        return None
    parts = urllib.parse.urlsplit(url)
    name = parts.path.strip("/")
    client = ["mysql", "-h", parts.hostname, "-P", str(parts.port or 3306),
              "-u", urllib.parse.unquote(parts.username or "root")]
    if parts.password:
        client.append("-p" + urllib.parse.unquote(parts.password))
    subprocess.run(client + ["-e", f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`"],
                   check=True, timeout=600)
    version = subprocess.run(client + ["-N", "-e", "SELECT VERSION()"], capture_output=True,
                             text=True, timeout=60)
    return version.stdout.strip() or None


def summary_line(row):
    api, raw = row.get("api", {}), row.get("raw")
    parts = []
    if "failure" in api:
        parts.append(f"API FAILED: {api['failure'][:200]}")
    else:
        parts.append(f"API {api['rps']:9.0f} req/s p50 {fmt_ms(api['p50_ms'])} p99 {fmt_ms(api['p99_ms'])} "
                     f"errors {api['errors']} RSS peak {api['hwm_mb']:.1f} MB ready {api['ready_ms']:.0f} ms")
    if raw:
        if "failure" in raw:
            parts.append(f"raw FAILED: {raw['failure'][:200]}")
        else:
            parts.append(f"raw {raw['ops_per_sec']:9.0f} ops/s p50 {fmt_ms(raw['p50_ms'])} "
                         f"p99 {fmt_ms(raw['p99_ms'])} errors {raw['errors']}")
    return " | ".join(parts)


def time_import(args, results):
    """Imports a CSV of --import-rows rows into a fresh SQLite database, then the same file again
    (which finds every row stored and adds none), timing both and taking each one's peak RSS."""
    rows = args.import_rows
    csv_path = WORK / f"import_{count_label(rows)}_seed{args.seed}.csv"
    if not csv_path.exists():
        log(f"[import] writing {rows} rows to {csv_path.name}")
        partial = csv_path.with_suffix(".partial")
        write_csv(rows, partial, args.seed)
        partial.rename(csv_path)
    url = f"sqlite:{WORK / 'twooter_bench_import.db'}"
    reset_database("sqlite", url)
    twooter(url, "migrate", timeout=600)
    runs = []
    for label in ("first", "again"):
        log(f"[import] importing {rows} rows into SQLite ({label})")
        runs.append(measured_import(url, csv_path))
        log(f"[import] {runs[-1]}")
    first, again = runs
    results["import"] = {"backend": "sqlite", "rows": rows, **first, "again": again}


def measured_import(url, csv_path):
    """One `twooter import`: its time, its summary and its peak resident memory."""
    env = procs.base_env()
    env["DATABASE_URL"] = url
    with open(WORK / "logs" / "import.stderr", "w+") as err:
        started = time.monotonic()
        child = subprocess.Popen([procs.SERVER, "import", str(csv_path)], env=env, cwd=WORK,
                                 stdout=subprocess.DEVNULL, stderr=err)
        # wait4 reports the child's own peak RSS (in KiB on Linux) as it is reaped.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        err.seek(0)
        text = err.read()
    reported = re.search(r"imported (\d+) twoots, skipped (\d+) already stored, rejected (\d+) rows", text)
    if not reported:
        raise RuntimeError(f"twooter import exited {child.returncode}: {text.strip()[-2000:]}")
    imported, skipped, rejected = (int(group) for group in reported.groups())
    return {"imported": imported, "already_stored": skipped, "rejected": rejected,
            "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


# ---------------------------------------------------------------------------------------------
# What a run ran on

def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "memory_gb": memory_gb,
            "kernel": f"{platform.system()} {platform.release()}"}


def commit():
    def git(*arguments):
        return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    return sha + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def wrk_version():
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    match = re.search(r"wrk\s+(\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"
