"""The command line of scripts/bench: its options, and the run from build to report."""

import argparse
import datetime
import json
import re
import time
import urllib.parse
from pathlib import Path

from . import galera, limiter, procs, runs, stream
from .common import ENDPOINTS, LABELS, WORK, log
from .docblocks import publish_block
from .group_commit import group_commit_text
from .report import publish, publish_limiter
from .runs import bench_database, estimated_minutes, new_results, time_import

DESCRIPTION = """\
Benchmarks Twooter on SQLite and MariaDB: the API under wrk against the same statements run on
the database directly, start-up, seeding and import, written into docs/BENCHMARKS.md.

With no options it runs everything (10k, 1M and 10M twoots on both backends). A short check:

    scripts/bench --sizes 10k --duration 3s --warmup 1s --import-rows 10k

`scripts/bench --galera --duration 5s` compares a three-node Galera cluster with one server.
`scripts/bench --report target/bench/results.json` renders the tables of an earlier run again.
Everything runs on 127.0.0.1; files go under target/bench/.
"""

# ---------------------------------------------------------------------------------------------
# Options

def parse_count(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 10k, 1m, 200000)")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def parse_bytes(text):
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4G, 512M)")
    return int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2)]


def parse_seconds(text):
    match = re.fullmatch(r"(\d+)(s|m)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration in whole seconds or minutes: {text!r}")
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def csv_of(parse):
    return lambda text: [parse(part) for part in text.split(",") if part.strip()]


def options():
    parser = argparse.ArgumentParser(
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=csv_of(parse_count), default=[10_000, 1_000_000, 10_000_000],
                        help="twoots seeded per database (default 10k,1m,10m)")
    parser.add_argument("--backends", type=csv_of(str), default=["sqlite", "mysql"],
                        help="sqlite and/or mysql (default both)")
    parser.add_argument("--duration", type=parse_seconds, default=10,
                        help="each measured run, e.g. 10s (default 10s)")
    parser.add_argument("--warmup", type=parse_seconds, default=2,
                        help="unmeasured load before each run (default 2s; 0 for none)")
    parser.add_argument("--connections", type=csv_of(int), default=[64, 256],
                        help="wrk connections and raw concurrent tasks (default 64,256)")
    parser.add_argument("--endpoints", type=csv_of(str), default=[key for key, _, _ in ENDPOINTS],
                        help="subset of " + ",".join(key for key, _, _ in ENDPOINTS))
    parser.add_argument("--pool", type=int, default=10,
                        help="DATABASE_MAX_CONNECTIONS for the server and the raw bench (default 10, "
                             "the service's default)")
    parser.add_argument("--import-rows", type=parse_count, default=1_000_000,
                        help="rows of the SQLite import timing (default 1m; 0 skips it)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the seeded twoots (default 1)")
    parser.add_argument("--mysql-url", default="mysql://root@127.0.0.1:3306",
                        help="MariaDB server; each size gets database twooter_bench_SIZE")
    parser.add_argument("--mysql-buffer-pool", type=parse_bytes, default=4 << 30,
                        help="grow MariaDB's innodb_buffer_pool_size to at least this (default 4G; "
                             "0 leaves it): the 128 MiB default makes seeding 10M bound by disk reads")
    parser.add_argument("--reuse", action="store_true",
                        help="keep databases an earlier run seeded with the same size and seed "
                             "(their seeding is then not timed)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already built")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the load generator and the measured process to separate cores")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument("--galera", action="store_true",
                        help="run only the Galera comparison: a three-node cluster against one server "
                             "(private servers on free ports), read-your-writes on and off")
    parser.add_argument("--galera-rows", type=parse_count, default=100_000,
                        help="twoots seeded for the Galera comparison (default 100k)")
    parser.add_argument("--galera-connections", type=int, default=64,
                        help="wrk connections in all for the Galera comparison (default 64)")
    parser.add_argument("--stream", action="store_true",
                        help="run only the live stream's figures: commit-to-subscriber latency across "
                             "two instances, and memory per idle subscriber")
    parser.add_argument("--stream-events", type=int, default=500,
                        help="twoots timed for the stream latency (default 500)")
    parser.add_argument("--stream-subscribers", type=parse_count, default=10_000,
                        help="idle subscribers for the stream's memory figure (default 10k)")
    parser.add_argument("--group-commit", action="store_true",
                        help="run only the group commit comparison: POST /messages with group commit "
                             "on and off (POST_BATCH_MAX=1), on each backend's database of the "
                             "smallest --sizes, with its own block in docs/BENCHMARKS.md")
    parser.add_argument("--group-commit-connections", type=csv_of(int), default=[1, 64, 256],
                        help="wrk connections of the group commit comparison (default 1,64,256)")
    parser.add_argument("--group-commit-rounds", type=int, default=3,
                        help="runs of each setting in the group commit comparison, on and off in "
                             "turn; the median rate stands (default 3)")
    parser.add_argument("--import-only", action="store_true",
                        help="run only the import timing (--import-rows rows), printed, not written "
                             "into docs/BENCHMARKS.md")
    parser.add_argument("--no-limiter", action="store_true",
                        help="skip the rate limiter's cost (a read route with limits off, in "
                             "process and in Redis)")
    parser.add_argument("--limiter-only", action="store_true",
                        help="run only the rate limiter's cost, on the smallest SQLite size")
    parser.add_argument("--report", type=Path, metavar="RESULTS_JSON",
                        help="only render the tables of an earlier run's results")
    args = parser.parse_args()
    if args.no_pin:
        procs.PINNING["on"] = False
    unknown = set(args.backends) - {"sqlite", "mysql"}
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    unknown = set(args.endpoints) - set(LABELS)
    if unknown:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    if any(c < 2 for c in args.connections):
        parser.error("connections must be at least 2 (wrk runs 2 threads)")
    host = urllib.parse.urlsplit(args.mysql_url).hostname
    if host not in ("127.0.0.1", "localhost"):
        parser.error("the MariaDB server must be on this machine (127.0.0.1)")
    args.sizes = sorted(set(args.sizes))
    return args


# ---------------------------------------------------------------------------------------------
# The run

def main():
    args = options()
    if args.report:
        results = json.loads(args.report.read_text())
        publish(results, args.no_docs)
        return 0
    procs.stop_children_on_exit()
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "logs").mkdir(exist_ok=True)
    # The Galera, group commit, stream and limiter runs measure only the server.
    raw = not (args.galera or args.group_commit or args.stream or args.limiter_only)
    if not args.no_build:
        procs.build(raw=raw)
    procs.check_binaries(raw=raw)
    if not args.stream:
        procs.ensure_wrk()
    if args.galera:
        return galera_main(args)
    if args.stream:
        return stream_main(args)
    if args.group_commit:
        return group_commit_main(args)
    if args.import_only:
        results = {}
        time_import(args, results)
        print(json.dumps(results["import"], indent=1))
        return 0
    if args.limiter_only:
        results = new_results(args, None)
        limiter.bench(args, results)
        publish_limiter(results, args.no_docs)
        return 0
    buffer_pool = None
    if "mysql" in args.backends:
        procs.check_mysql(args.mysql_url)
        if args.mysql_buffer_pool:
            buffer_pool = procs.grow_buffer_pool(args.mysql_url, args.mysql_buffer_pool)
            log(f"MariaDB innodb_buffer_pool_size: {buffer_pool['before'] >> 20} MiB before, "
                f"{buffer_pool['after'] >> 20} MiB now")

    log(f"load tests take about {estimated_minutes(args):.0f} min, plus seeding and the import")
    started = time.monotonic()
    results = new_results(args, buffer_pool)
    for backend in args.backends:
        for size in args.sizes:
            bench_database(args, backend, size, results)
            # A run cut short still leaves what it measured: `--report` renders it.
            (WORK / "results-partial.json").write_text(json.dumps(results, indent=1))
    if args.import_rows:
        time_import(args, results)
    if not args.no_limiter and "sqlite" in args.backends:
        limiter.bench(args, results)
    results["elapsed_s"] = time.monotonic() - started
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for name in (f"results-{stamp}.json", "results.json"):
        (WORK / name).write_text(json.dumps(results, indent=1))
    publish(results, args.no_docs)
    log(f"done in {results['elapsed_s'] / 60:.1f} min; results in {WORK / 'results.json'}")
    return 0


def galera_main(args):
    started = time.monotonic()
    results = galera.bench(args)
    machine = runs.machine()
    described = (f"{machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']:.0f} GB, "
                 f"{machine['kernel']}")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = galera.render(results, described, f"`{runs.commit()}`", date)
    (WORK / "galera-results.json").write_text(json.dumps(results, indent=1))
    publish_block(text, "galera", "Galera", args.no_docs)
    log(f"done in {(time.monotonic() - started) / 60:.1f} min")
    return 0


def stream_main(args):
    started = time.monotonic()
    results = stream.bench(args)
    machine = runs.machine()
    results["machine"] = (f"{machine['nproc']} CPUs ({machine['cpu']}), "
                          f"{machine['memory_gb']:.0f} GB, {machine['kernel']}")
    results["commit"] = runs.commit()
    results["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    (WORK / "stream-results.json").write_text(json.dumps(results, indent=1))
    publish_block("\n".join(stream.section(results)), "stream", "Live stream", args.no_docs)
    log(f"done in {(time.monotonic() - started) / 60:.1f} min")
    return 0


def group_commit_main(args):
    if "mysql" in args.backends:
        procs.check_mysql(args.mysql_url)
    started = time.monotonic()
    results = runs.bench_group_commit(args)
    (WORK / "group-commit-results.json").write_text(json.dumps(results, indent=1))
    publish_block(group_commit_text(results), "group-commit", "Group commit", args.no_docs)
    log(f"done in {(time.monotonic() - started) / 60:.1f} min")
    return 0


def entry():
    """scripts/bench: the run, or on an error, every child stopped and the error on one line."""
    try:
        return main()
    except RuntimeError as error:
        procs.stop_all()
        log(f"error: {error}")
        return 1
