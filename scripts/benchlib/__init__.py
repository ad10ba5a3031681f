"""The benchmark behind scripts/bench, one job per module:

- common:  where files live, the endpoints and their labels, how counts are written, the log.
- procs:   process control: the builds, the server, wrk, the raw database bench (Cargo bench
           `raw_db`, benches/raw_db/), and setting up the databases. Every child dies with the
           script.
- measure: one measured run, the API under wrk or the raw bench, with the CPU and memory used.
- runs:    the whole benchmark in order (seeding, every endpoint's runs, the import timing),
           collected into one results dict, which is saved as target/bench/results.json.
- report:  the results as Markdown tables, printed and written into docs/BENCHMARKS.md.
- docblocks: the generated blocks of docs/BENCHMARKS.md, each between its run's own markers.
- galera:  `--galera`, a run of its own: a three-node Galera cluster against one server, on
           private servers, with its own block in docs/BENCHMARKS.md.
- group_commit: `--group-commit`, a run of its own: posts with group commit on and off at 1, 64
           and 256 connections on both backends, its table and targets in their own block of
           docs/BENCHMARKS.md.
- limiter: the rate limiter's cost per request: one read route with limits off, in process and
           in Redis (also alone, `--limiter-only`, into a block of its own in docs/BENCHMARKS.md).
- cli:     the options, and main.

A new measured run:

1. What it starts goes in procs: a server with other settings is `Server(..., extra_env={...})`.
2. The measurement goes in measure: a function that returns a dict of figures, as api_run and
   raw_run do.
3. runs calls it and stores its dicts under a new key of the results: once per database from
   bench_database, or once per run beside time_import (called from cli.main). Give the key its
   empty value in new_results. Its options go in cli.options.

A new endpoint for the existing runs is an entry in common.ENDPOINTS and its path in
measure.api_path (and, with a raw statement, an --op of the raw bench).

A new table: a function in report that takes the results and returns its lines (a heading,
text, `table(header, rows)`, then ""), added to report.SECTIONS where it should appear; a target
it judges also goes into report.target_rows. Read new keys with `results.get(...)`, so that
`--report` still renders results files written before the key existed.
"""
