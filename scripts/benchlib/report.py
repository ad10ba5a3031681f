"""The report: the Markdown tables of a results dict, printed and written into docs/BENCHMARKS.md
as its main generated block (docblocks). Rendering reads only the results, so `--report` renders an
earlier run again.

The report is the sections in SECTIONS, in order; each takes the results and returns its lines.
"""

import statistics

from .common import LABELS, count_text
from .docblocks import publish_block

RATIO_TARGET = 0.6
RATIO_TARGETED = {"tag": "tag page reads", "deep": "tag page reads", "get": "GET /messages/{id}",
                  "post": "POST (durable commits)"}
FLAT_TARGET = 1.5
FLAT_ENDPOINTS = ["tag", "deep", "stats"]
RSS_TARGET_MB = 64
RSS_AT_CONNECTIONS = 256
READY_TARGET_MS = 200
IMPORT_TARGET_S = 30
IMPORT_TARGET_ROWS = 1_000_000

# ---------------------------------------------------------------------------------------------
# Cells

def fmt_ms(value):
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def fmt_us(value):
    return "—" if value is None else f"{value:,.0f}"


def fmt_rate(value):
    return "—" if value is None else f"{value:,.0f}"


def mark(ok):
    return "✅" if ok else "❌"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def backend_name(backend, versions):
    name = {"sqlite": "SQLite", "mysql": "MariaDB"}[backend]
    version = versions.get(backend)
    if version:
        name += " " + version.split("-")[0]
    return name


def ratio_of(run):
    api, raw = run.get("api", {}), run.get("raw") or {}
    if "rps" in api and raw.get("ops_per_sec"):
        return api["rps"] / raw["ops_per_sec"]
    return None


# ---------------------------------------------------------------------------------------------
# Sections

def run_header(results):
    versions = results.get("versions", {})
    settings = results["settings"]
    out = []
    m = results["machine"]
    memory = f"{m['memory_gb']:.0f} GB" if m.get("memory_gb") else "unknown memory"
    out.append(f"Run of {results['date']} at commit `{results['commit']}`: `{results['command'].strip()}` "
               f"({results.get('elapsed_s', 0) / 60:.0f} min).\n")
    out.append(f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {memory}, {m['kernel']}")
    out.append(f"- {', '.join(backend_name(b, versions) for b in settings['backends'])}; wrk "
               f"{versions.get('wrk', '?')}, 2 threads; pool `DATABASE_MAX_CONNECTIONS={settings['pool']}` "
               f"for the server and the raw database alike")
    pinning = ("wrk on core 0; the server, or the raw bench with its in-process load, on core 1 "
               "(MariaDB itself is not pinned)" if settings.get("pinned") else "no core pinning")
    out.append(f"- Cores: {pinning}")
    pool = results.get("mysql_buffer_pool")
    if pool:
        grown = f", grown from {pool['before'] >> 20} MiB" if pool["after"] != pool["before"] else ""
        out.append(f"- MariaDB `innodb_buffer_pool_size` {pool['after'] >> 20} MiB "
                   f"(`--mysql-buffer-pool`{grown})")
    out.append(f"- Each run: {settings['warmup_s']} s of warm-up, then {settings['duration_s']} s measured; "
               f"a fresh server per run\n")
    return out


def under_load(results):
    versions = results.get("versions", {})
    settings = results["settings"]
    runs = results["runs"]
    out = ["### Under load: API and raw database\n"]
    out.append("API: wrk against the server. Raw: the same statement through sqlx with the same pool, "
               "from as many tasks as wrk has connections. Latencies in ms. API ÷ raw compares "
               "throughput; the target (≥ 0.6) applies to tag pages, by-id reads and posts. Errors: "
               "non-2xx responses plus socket errors (API), failed statements (raw). RSS: the server's "
               f"peak (VmHWM), ≤ {RSS_TARGET_MB} MB at {RSS_AT_CONNECTIONS} connections. CPU µs: "
               "CPU time per request of the server process, and per operation of the raw process "
               "(on MariaDB neither counts the database server's own).\n")
    for backend in settings["backends"]:
        rows = [load_row(run) for run in runs if run["backend"] == backend]
        out.append(f"#### {backend_name(backend, versions)}\n")
        out.append(table(["rows", "endpoint", "conns", "API req/s", "API p50", "API p99",
                          "API errors", "RSS MB", "API CPU µs", "raw ops/s", "raw p50", "raw p99",
                          "raw errors", "raw CPU µs", "API ÷ raw"], rows))
        out.append("")
        budget = cpu_budget_rows([r for r in runs if r["backend"] == backend])
        if budget:
            out.append(f"CPU per request ({backend_name(backend, versions)}), in µs, of every process "
                       "on the machine that serves it. The load generator's and the database "
                       "server's CPU come out of the same two cores as the server's, so when the "
                       "cores are the limit, API ÷ raw tends to raw total ÷ API total."
                       + (" SQLite runs inside the measured process." if backend == "sqlite" else "")
                       + "\n")
            out.append(table(["rows", "endpoint", "conns", "server", "database", "wrk", "API total",
                              "raw bench", "database", "raw total", "raw total ÷ API total"], budget))
            out.append("")
    return out


def load_row(run):
    api, raw = run.get("api", {}), run.get("raw")
    ratio = ratio_of(run)
    ratio_cell = "—" if ratio is None else f"{ratio:.2f}"
    if ratio is not None and run["endpoint"] in RATIO_TARGETED:
        ratio_cell += " " + mark(ratio >= RATIO_TARGET)
    if "failure" in api:
        api_cells = ["failed", "—", "—", "—", "—", "—"]
    else:
        errors = api["errors"]
        rss = f"{api['hwm_mb']:.1f}"
        if run["connections"] == RSS_AT_CONNECTIONS:
            rss += " " + mark(api["hwm_mb"] <= RSS_TARGET_MB)
        api_cells = [fmt_rate(api["rps"]), fmt_ms(api["p50_ms"]), fmt_ms(api["p99_ms"]),
                     f"{errors} {mark(errors == 0)}", rss, fmt_us(api.get("cpu_us_per_op"))]
    if raw is None:
        raw_cells = ["—"] * 5
    elif "failure" in raw:
        raw_cells = ["failed", "—", "—", "—", "—"]
    else:
        raw_cells = [fmt_rate(raw["ops_per_sec"]), fmt_ms(raw["p50_ms"]), fmt_ms(raw["p99_ms"]),
                     f"{raw['errors']} {mark(raw['errors'] == 0)}", fmt_us(raw.get("cpu_us_per_op"))]
    return [count_text(run["size"]), f"`{LABELS[run['endpoint']]}`", run["connections"],
            *api_cells, *raw_cells, ratio_cell]


def cpu_budget_rows(runs):
    rows = []
    for run in runs:
        api, raw = run.get("api", {}), run.get("raw") or {}
        if "cpu_us_per_op" not in api or "cpu_us_per_op" not in raw or "wrk_cpu_us_per_op" not in api:
            continue
        api_parts = [api["cpu_us_per_op"], api.get("db_cpu_us_per_op"), api["wrk_cpu_us_per_op"]]
        raw_parts = [raw["cpu_us_per_op"], raw.get("db_cpu_us_per_op")]
        if any(part is None for part in (api_parts[0], api_parts[2], raw_parts[0])):
            continue
        api_total = sum(part or 0 for part in api_parts)
        raw_total = sum(part or 0 for part in raw_parts)
        rows.append([count_text(run["size"]), f"`{LABELS[run['endpoint']]}`", run["connections"],
                     *[fmt_us(part) for part in api_parts], fmt_us(api_total),
                     *[fmt_us(part) for part in raw_parts], fmt_us(raw_total),
                     f"{raw_total / api_total:.2f}" if api_total else "—"])
    return rows


def flat_with_data(results):
    flat = flat_rows(results)
    if not flat:
        return []
    versions = results.get("versions", {})
    sizes = results["settings"]["sizes"]
    small, large = count_text(sizes[0]), count_text(sizes[-1])
    out = ["### Flat with data\n"]
    out.append(f"p50 with {large} rows ÷ p50 with {small} rows, same endpoint and connections; "
               f"target ≤ {FLAT_TARGET} (judged on the API).\n")
    out.append(table(["backend", "endpoint", "conns", f"API p50 {small}", f"API p50 {large}",
                      "API ratio", f"raw p50 {small}", f"raw p50 {large}", "raw ratio"],
                     [[backend_name(f["backend"], versions), f"`{LABELS[f['endpoint']]}`",
                       f["connections"], fmt_ms(f["api_small"]), fmt_ms(f["api_large"]),
                       "—" if f["api_ratio"] is None else f"{f['api_ratio']:.2f} {mark(f['api_ratio'] <= FLAT_TARGET)}",
                       fmt_ms(f["raw_small"]), fmt_ms(f["raw_large"]),
                       "—" if f["raw_ratio"] is None else f"{f['raw_ratio']:.2f}"] for f in flat]))
    out.append("")
    return out


def flat_rows(results):
    sizes = results["settings"]["sizes"]
    if len(sizes) < 2:
        return []
    small, large = sizes[0], sizes[-1]
    index = {(r["backend"], r["size"], r["endpoint"], r["connections"]): r for r in results["runs"]}
    rows = []
    for backend in results["settings"]["backends"]:
        for endpoint in FLAT_ENDPOINTS:
            for connections in results["settings"]["connections"]:
                a = index.get((backend, small, endpoint, connections))
                b = index.get((backend, large, endpoint, connections))
                if not a or not b:
                    continue

                def p50(run, side):
                    return (run.get(side) or {}).get("p50_ms")

                def ratio(x, y):
                    return y / x if x and y is not None else None

                rows.append({"backend": backend, "endpoint": endpoint, "connections": connections,
                             "api_small": p50(a, "api"), "api_large": p50(b, "api"),
                             "api_ratio": ratio(p50(a, "api"), p50(b, "api")),
                             "raw_small": p50(a, "raw"), "raw_large": p50(b, "raw"),
                             "raw_ratio": ratio(p50(a, "raw"), p50(b, "raw"))})
    return rows


def timings(results):
    versions = results.get("versions", {})
    out = ["### Timings\n"]
    rows = []
    for seed in results["seeds"]:
        rows.append([f"`seed --count {count_text(seed['rows'])}`", backend_name(seed["backend"], versions),
                     f"{seed['seconds']:.1f} s", f"{seed['rows'] / seed['seconds']:,.0f} rows/s", ""])
    imported = results.get("import")
    if imported:
        ok = imported["seconds"] <= IMPORT_TARGET_S and imported["rejected"] == 0
        target = (f"≤ {IMPORT_TARGET_S} s {mark(ok)}" if imported["rows"] >= IMPORT_TARGET_ROWS
                  else f"(target is for {count_text(IMPORT_TARGET_ROWS)} rows)")
        rss = f", peak RSS {imported['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in imported else ""
        rows.append([f"`import` of {count_text(imported['rows'])} CSV rows ({imported['rejected']} rejected)",
                     "SQLite", f"{imported['seconds']:.1f} s{rss}",
                     f"{imported['rows'] / imported['seconds']:,.0f} rows/s", target])
        again = imported.get("again")
        if again:
            rows.append([f"the same file again ({again['already_stored']:,} found stored, "
                         f"{again['imported']} added)", "SQLite",
                         f"{again['seconds']:.1f} s, peak RSS {again['peak_rss_mb']:.0f} MB",
                         f"{imported['rows'] / again['seconds']:,.0f} rows/s", ""])
    for start in results["starts"]:
        ready = start["ready_ms"]
        median = statistics.median(ready)
        rows.append([f"start-up to ready, {count_text(start['size'])} rows ({len(ready)} starts)",
                     backend_name(start["backend"], versions),
                     f"median {median:.0f} ms, max {max(ready):.0f} ms", "",
                     f"≤ {READY_TARGET_MS} ms {mark(median <= READY_TARGET_MS)}"])
    out.append(table(["what", "backend", "time", "rate", "target"], rows))
    out.append("")
    return out


def targets(results):
    return ["### Targets\n", table(["target", "measured", ""], target_rows(results, flat_rows(results))), ""]


def target_rows(results, flat):
    runs = results["runs"]
    rows = []

    def where(run):
        return f"{run['backend']} {count_text(run['size'])} {run['endpoint']} c={run['connections']}"

    for what in dict.fromkeys(RATIO_TARGETED.values()):
        measured = [(ratio_of(r), r) for r in runs if RATIO_TARGETED.get(r["endpoint"]) == what]
        measured = [(v, r) for v, r in measured if v is not None]
        if measured:
            worst, run = min(measured, key=lambda item: item[0])
            rows.append([f"API ÷ raw ≥ {RATIO_TARGET}, {what}", f"lowest {worst:.2f} ({where(run)})",
                         mark(worst >= RATIO_TARGET)])
    if flat:
        judged = [f for f in flat if f["api_ratio"] is not None]
        if judged:
            worst = max(judged, key=lambda f: f["api_ratio"])
            sizes = results["settings"]["sizes"]
            rows.append([f"p50 at {count_text(sizes[-1])} ≤ {FLAT_TARGET} × p50 at {count_text(sizes[0])}: "
                         f"tag, deep cursor, stats",
                         f"highest {worst['api_ratio']:.2f} ({worst['backend']} {worst['endpoint']} "
                         f"c={worst['connections']})", mark(worst["api_ratio"] <= FLAT_TARGET)])
    measured = [r for r in runs if "errors" in r.get("api", {})]
    failed = [r for r in runs if "failure" in r.get("api", {}) or "failure" in (r.get("raw") or {})]
    if measured or failed:
        errors = sum(r["api"]["errors"] for r in measured)
        bad = [where(r) for r in measured if r["api"]["errors"]]
        detail = (f"{errors} in {len(bad)} of {len(measured)} runs (e.g. {bad[0]})" if bad
                  else f"none in {len(measured)} runs")
        if failed:
            detail += f"; {len(failed)} runs failed"
        rows.append(["zero errors and non-2xx under load", detail, mark(errors == 0 and not failed)])
    at = [r for r in measured if r["connections"] == RSS_AT_CONNECTIONS]
    if at:
        worst = max(at, key=lambda r: r["api"]["hwm_mb"])
        rows.append([f"server RSS ≤ {RSS_TARGET_MB} MB at {RSS_AT_CONNECTIONS} connections",
                     f"highest {worst['api']['hwm_mb']:.1f} MB ({where(worst)})",
                     mark(worst["api"]["hwm_mb"] <= RSS_TARGET_MB)])
    ready = [ms for start in results["starts"] for ms in start["ready_ms"]]
    if ready:
        median = statistics.median(ready)
        rows.append([f"ready ≤ {READY_TARGET_MS} ms after exec (migrated database)",
                     f"median {median:.0f} ms, max {max(ready):.0f} ms over {len(ready)} starts",
                     mark(median <= READY_TARGET_MS)])
    imported = results.get("import")
    if imported:
        if imported["rows"] >= IMPORT_TARGET_ROWS:
            ok = imported["seconds"] <= IMPORT_TARGET_S and imported["rejected"] == 0
            rows.append([f"{count_text(IMPORT_TARGET_ROWS)}-row import ≤ {IMPORT_TARGET_S} s on SQLite",
                         f"{imported['seconds']:.1f} s", mark(ok)])
        else:
            rows.append([f"{count_text(IMPORT_TARGET_ROWS)}-row import ≤ {IMPORT_TARGET_S} s on SQLite",
                         f"not measured: {count_text(imported['rows'])} rows in {imported['seconds']:.1f} s",
                         "—"])
    return rows


def limiter_cost(results):
    """The rate limiter's cost per request: the same read route with limits off, decided in
    process, and decided in Redis (scripts/benchlib/limiter.py)."""
    cost = results.get("limiter")
    if not cost or not cost["rows"]:
        return []
    base = cost["rows"][0]["api"]
    out = ["### Rate limiter cost\n",
           f"`{cost['path']}` on SQLite with {count_text(cost['size'])} twoots, "
           f"{cost['connections']} connections, a fresh server per setting; the budget is too large "
           f"to refuse anything, so every request pays for a whole decision. The cost is the "
           f"difference to `RATE_LIMITS=off` in the server's CPU per request and in median "
           f"latency (Redis' own CPU is not counted).\n"]
    rows = []
    for row in cost["rows"]:
        api = row["api"]
        cpu_cost = api["cpu_us_per_op"] - base["cpu_us_per_op"]
        p50_cost = (api["p50_ms"] - base["p50_ms"]) * 1000
        same = row is cost["rows"][0]
        rows.append([row["setting"], f"{api['rps']:,.0f}", fmt_ms(api["p50_ms"]), fmt_ms(api["p99_ms"]),
                     f"{api['cpu_us_per_op']:.1f} µs", "" if same else f"{cpu_cost:+.1f} µs",
                     "" if same else f"{p50_cost:+.0f} µs", str(api["errors"]),
                     str(api.get("failed_open_warnings", "?"))])
    out.append(table(["limits", "req/s", "p50 ms", "p99 ms", "server CPU / req", "CPU cost / req",
                      "p50 cost", "errors", "fail-open warnings"], rows))
    out.append("")
    return out


# The report, section by section.
SECTIONS = [run_header, under_load, flat_with_data, timings, limiter_cost, targets]


def publish_limiter(results, no_docs):
    """`--limiter-only`: the cost table alone, in a block of its own, leaving the full run's."""
    m = results["machine"]
    text = "\n".join([f"Run of {results['date']} at commit `{results['commit']}`: "
                      f"`{results['command'].strip()}`; {m['nproc']} CPUs ({m['cpu']}). "
                      f"{results['settings']['warmup_s']} s of warm-up, then "
                      f"{results['settings']['duration_s']} s measured per setting.\n"]
                     + limiter_cost(results))
    publish_block(text, "limiter-only", "Rate limiter cost", no_docs)


def render(results):
    out = []
    for section in SECTIONS:
        out += section(results)
    return "\n".join(out)


def publish(results, no_docs):
    publish_block(render(results), None, None, no_docs)
