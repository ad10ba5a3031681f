"""The group commit comparison's table and targets (`scripts/bench --group-commit`): POST
/messages with group commit on and off, at each number of connections, on each backend."""

from .report import backend_name, fmt_ms, fmt_rate, mark, table

SPEEDUP_TARGET = 5
SPEEDUP_AT = 64
LONE_P50_SLACK = 1.10


def group_commit_text(results):
    runs = results["runs"]
    by = {(r["backend"], r["connections"], r["group_commit"]): r["api"] for r in runs}
    rows = []
    for run in runs:
        api = run["api"]
        name = backend_name(run["backend"], results["versions"])
        if "failure" in api:
            rows.append([name, run["connections"], run["group_commit"], "failed: " + api["failure"][:80],
                         "", "", "", "", ""])
            continue
        off = by.get((run["backend"], run["connections"], "off"), {})
        speedup = api["rps"] / off["rps"] if off.get("rps") else None
        rows.append([name, run["connections"], run["group_commit"], fmt_rate(api["rps"]),
                     fmt_ms(api["p50_ms"]), fmt_ms(api["p99_ms"]), api["errors"],
                     f"{api['hwm_mb']:.1f}", "—" if speedup is None else f"{speedup:.2f}×"])
    machine = results["machine"]
    lines = [
        f"Measured {results['date']} on {machine['nproc']} CPUs ({machine['cpu']}) at "
        f"`{results['commit']}`: `{results['command']}`. wrk posts to a server over a database "
        f"seeded with {results['size']:,} twoots, {results['duration_s']} s per run after "
        f"{results['warmup_s']} s of warm-up, a fresh server per run; on and off took turns "
        f"{results.get('rounds', 1)} times, and each row is the run with the median rate"
        f"{', wrk and the server pinned to separate cores' if results['pinned'] else ''}. "
        f"Off is `POST_BATCH_MAX=1`: each post commits on its own, as before group commit. "
        f"Durability is the same in both: SQLite `synchronous=FULL`, InnoDB flushing at every commit.",
        "",
        table(["database", "connections", "group commit", "req/s", "p50 ms", "p99 ms", "errors",
               "RSS peak MB", "on ÷ off"], rows),
        "",
        "### Group commit targets",
        "",
        table(["target", "measured", ""], target_rows(results, by)),
    ]
    return "\n".join(lines)


def target_rows(results, by):
    rows = []
    for backend in dict.fromkeys(r["backend"] for r in results["runs"]):
        name = backend_name(backend, results["versions"])
        on, off = by.get((backend, SPEEDUP_AT, "on"), {}), by.get((backend, SPEEDUP_AT, "off"), {})
        if on.get("rps") and off.get("rps"):
            speedup = on["rps"] / off["rps"]
            rows.append([f"{name}: posts at {SPEEDUP_AT} connections ≥ {SPEEDUP_TARGET}× off",
                         f"{speedup:.2f}×", mark(speedup >= SPEEDUP_TARGET)])
            rows.append([f"{name}: p99 at {SPEEDUP_AT} connections no worse than off",
                         f"{fmt_ms(on['p99_ms'])} ms vs {fmt_ms(off['p99_ms'])} ms",
                         mark(on["p99_ms"] <= off["p99_ms"])])
        on, off = by.get((backend, 1, "on"), {}), by.get((backend, 1, "off"), {})
        if on.get("p50_ms") and off.get("p50_ms"):
            ratio = on["p50_ms"] / off["p50_ms"]
            rows.append([f"{name}: p50 at 1 connection within {LONE_P50_SLACK - 1:.0%} of off",
                         f"{fmt_ms(on['p50_ms'])} ms vs {fmt_ms(off['p50_ms'])} ms ({ratio:.2f}×)",
                         mark(ratio <= LONE_P50_SLACK)])
    measured = [r["api"] for r in results["runs"] if "errors" in r["api"]]
    errors = sum(api["errors"] for api in measured)
    failed = len(results["runs"]) - len(measured)
    rows.append(["zero errors", f"{errors} in {len(measured)} runs" + (f"; {failed} failed" if failed else ""),
                 mark(errors == 0 and not failed)])
    return rows
