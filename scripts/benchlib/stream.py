"""The live stream run, `scripts/bench --stream`: how long a twoot takes from its commit on one
instance to a subscriber of another (two instances on one MariaDB database, woken through a
private Redis), and the memory one idle subscriber costs an instance holding 10,000 of them,
beside what as many idle keep-alive connections cost an instance of their own.

Latency: twoots are posted one at a time through instance A, paced so that none queues behind
another, while a subscriber of instance B reads the stream. The commit falls between the POST
being sent and its answer, so each event is timed from both: "from the POST" is an upper bound
of commit to event, "from the answer" a lower one.

Memory: instance B's resident set before and after opening the subscribers (each reads its
headers, then idles), divided by their number. This script raises its own open-file limit, which
the server inherits.
"""

import http.client
import json
import resource
import socket
import subprocess
import threading
import time

from . import procs
from .common import WORK, log
from .report import fmt_ms, table
from .procs import Server, free_port, spawn, stop

TAG = "live"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def private_redis(root):
    port = free_port()
    proc = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(root)],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the private redis-server did not answer within 10 s")


def fresh_database(mysql_url):
    name = "twooter_bench_stream"
    statement = f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"
    procs.run(["mariadb", "-h127.0.0.1", "-uroot", "-e", statement], timeout=60)
    return mysql_url.rstrip("/") + "/" + name


def open_stream(port, path):
    """A connection reading `path` as an event stream, past its headers."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            raise RuntimeError(f"the stream closed before its headers: {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET {path}: {head.splitlines()[0]!r}")
    return connection, head.split(b"\r\n\r\n", 1)[1]


def read_events(connection, rest, arrivals, done):
    """Records when each event's id arrives, until `done` is set."""
    buffer = rest.decode()
    connection.settimeout(0.5)
    while not done.is_set():
        try:
            chunk = connection.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return
        now = time.monotonic()
        buffer += chunk.decode()
        for line in buffer.splitlines():
            if line.startswith("id: "):
                arrivals.setdefault(line[4:].strip(), now)
        buffer = buffer[buffer.rfind("\n") + 1:]


def latency(a, b, events, pause):
    connection, rest = open_stream(b.port, f"/messages/stream?tag={TAG}")
    arrivals, done = {}, threading.Event()
    reader = threading.Thread(target=read_events, args=(connection, rest, arrivals, done))
    reader.start()
    poster = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    sent, answered = {}, {}
    for i in range(events):
        body = json.dumps({"text": f"live twoot {i}", "tag": TAG})
        started = time.monotonic()
        poster.request("POST", "/messages", body, {"Content-Type": "application/json"})
        response = poster.getresponse()
        reply = response.read()
        if response.status != 201:
            raise RuntimeError(f"POST /messages answered {response.status}: {reply[:200]!r}")
        twoot_id = json.loads(reply)["id"]
        sent[twoot_id], answered[twoot_id] = started, time.monotonic()
        time.sleep(pause)
    deadline = time.monotonic() + 5
    while len(arrivals) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    reader.join()
    connection.close()
    missing = [twoot_id for twoot_id in sent if twoot_id not in arrivals]
    if missing:
        raise RuntimeError(f"{len(missing)} of {events} twoots never reached the subscriber")
    upper = [(arrivals[i] - sent[i]) * 1000 for i in sent]
    lower = [max(0.0, arrivals[i] - answered[i]) * 1000 for i in sent]
    return {"events": events, "pause_ms": pause * 1000,
            "from_post_p50_ms": percentile(upper, 0.5), "from_post_p99_ms": percentile(upper, 0.99),
            "from_answer_p50_ms": percentile(lower, 0.5),
            "from_answer_p99_ms": percentile(lower, 0.99),
            "from_post_max_ms": max(upper)}


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def idle_memory(server, subscribers, path="/messages/stream"):
    before = rss_kib(server.pid)
    started = time.monotonic()
    connections = [open_stream(server.port, path)[0] for _ in range(subscribers)]
    opened_s = time.monotonic() - started
    time.sleep(2)
    after = rss_kib(server.pid)
    for connection in connections:
        connection.close()
    return {"subscribers": subscribers, "rss_before_kib": before, "rss_after_kib": after,
            "per_subscriber_bytes": (after - before) * 1024 / subscribers,
            "open_s": opened_s}


def bench(args):
    root = WORK / "stream"
    root.mkdir(parents=True, exist_ok=True)
    subscribers = args.stream_subscribers
    need = subscribers + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, soft), hard), hard))
    redis, redis_port = private_redis(root)
    url = fresh_database(args.mysql_url)
    settings = {"REDIS_URL": f"redis://127.0.0.1:{redis_port}", "MIGRATE_ON_START": "true",
                "STREAM_MAX_SUBSCRIBERS": str(need), "STREAM_MAX_PER_CLIENT": str(need),
                "MAX_CONNECTIONS": str(need)}
    servers = []
    try:
        a = Server(url, args.pool, root / "a.log", settings)
        servers.append(a)
        b = Server(url, args.pool, root / "b.log", settings)
        servers.append(b)
        log(f"stream latency: {args.stream_events} twoots through A, read on B")
        results = {"latency": latency(a, b, args.stream_events, 0.02)}
        log(f"idle memory: {subscribers} subscribers on B")
        results["memory"] = idle_memory(b, subscribers)
        # The same count of idle keep-alive connections that each made one cheap request, on an
        # instance of their own: what any connection costs, against which the stream's share shows.
        c = Server(url, args.pool, root / "c.log", settings)
        servers.append(c)
        log(f"idle memory: {subscribers} keep-alive connections after GET /healthz on C")
        results["connection_memory"] = idle_memory(c, subscribers, "/healthz")
    finally:
        for server in servers:
            server.stop()
        stop(redis)
    return results


def section(results):
    """The live stream's figures (`scripts/bench --stream`) as Markdown."""
    latency, memory = results["latency"], results["memory"]
    lines = [
        f"Run on {results['machine']}, commit `{results['commit']}`, {results['date']}: two "
        "instances on one MariaDB database, woken through a private Redis, and their load on the "
        "same machine.",
        "",
        f"Commit on instance A to the event on a subscriber of instance B, {latency['events']} "
        f"twoots posted one at a time {latency['pause_ms']:.0f} ms apart. The commit falls between "
        "the POST being sent and its answer, so the two rows bound it from above and below.",
        "",
    ]
    lines.append(table(["timed from", "p50 (ms)", "p99 (ms)"], [
        ["the POST sent (upper bound)", fmt_ms(latency["from_post_p50_ms"]),
         fmt_ms(latency["from_post_p99_ms"])],
        ["the POST answered (lower bound)", fmt_ms(latency["from_answer_p50_ms"]),
         fmt_ms(latency["from_answer_p99_ms"])],
    ]))
    lines += [
        "",
        f"Memory: {memory['subscribers']:,} idle subscribers on one instance raised its resident "
        f"set from {memory['rss_before_kib'] / 1024:.1f} MiB to {memory['rss_after_kib'] / 1024:.1f} "
        f"MiB: **{memory['per_subscriber_bytes'] / 1024:.1f} KiB per subscriber** (opened in "
        f"{memory['open_s']:.1f} s).",
        "",
    ]
    connection = results.get("connection_memory")
    if connection:
        lines += [
            f"For comparison, {connection['subscribers']:,} idle keep-alive connections that each "
            f"made one `GET /healthz`, on a fresh instance: "
            f"{connection['per_subscriber_bytes'] / 1024:.1f} KiB each. The stream's own share of a "
            f"subscriber is the difference, "
            f"{(memory['per_subscriber_bytes'] - connection['per_subscriber_bytes']) / 1024:.1f} KiB; "
            "the rest is what any open HTTP connection costs this server.",
            "",
        ]
    return lines
