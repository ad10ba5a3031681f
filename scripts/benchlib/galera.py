"""The Galera run, `scripts/bench --galera`: posts and tag pages through three instances on a
three-node MariaDB Galera cluster, against one instance on one MariaDB server with the same
settings, in the same run; and what read-your-writes costs (DATABASE_READ_YOUR_WRITES on and off).

Every server here is private: started on free loopback ports in target/bench/galera, from the
initialised data directory the tests keep (or a new one), and stopped with the script. The load
is wrk, one per instance, with the connections shared out; nothing is pinned, since three
database servers, three instances and wrk share the machine's cores either way.
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import procs
from .common import LIMIT, TAG, WORK, log
from .measure import parse_wrk, post_script
from .procs import Server, collect, free_port, run, spawn, stop, twooter, wrk_command

MARIADBD = "/usr/sbin/mariadbd"
PROVIDER = "/usr/lib/galera/libgalera_smm.so"
SMALL = ["--innodb-buffer-pool-size=256M", "--innodb-log-file-size=64M", "--skip-name-resolve",
         "--bind-address=127.0.0.1", "--max-connections=500"]


class Node:
    """One private mariadbd; `initialised` False leaves the data directory for a joiner to fill."""

    def __init__(self, root, name, args, initialised=True):
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True)
        self.data = self.dir / "data"
        if initialised:
            shutil.copytree(template(), self.data, symlinks=True)
        else:
            self.data.mkdir()
        self.port = free_port()
        self.args = args
        self.proc = None

    def start(self, once=()):
        command = [MARIADBD, "--no-defaults", f"--datadir={self.data}",
                   f"--socket={self.dir / 'sock'}", f"--log-error={self.dir / 'error.log'}",
                   f"--pid-file={self.dir / 'pid'}", f"--port={self.port}", "--user=root",
                   *SMALL, *self.args, *once]
        # rsync's daemon, which moves a joiner's state, does not run as the server's user.
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "UMASK": "0666", "UMASK_DIR": "0777"}
        subprocess.run(["chmod", "-R", "a+rwX", str(self.dir)], check=True)
        self.proc = spawn(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, statement):
        out = subprocess.run(["mariadb", "-N", "-h127.0.0.1", f"-P{self.port}", "-uroot", "-e",
                              statement], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() if out.returncode == 0 else None

    def wait(self, ready, what):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd on {self.port} exited: {self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"mariadbd on {self.port} not {what} in 180 s: {self.log_tail()}")

    def wait_up(self):
        self.wait(lambda: self.sql("SELECT 1") == "1", "up")

    def wait_synced(self):
        self.wait(lambda: (self.sql("SHOW STATUS LIKE 'wsrep_local_state_comment'") or "")
                  .endswith("Synced"), "synced")

    def url(self, database):
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def log_tail(self):
        try:
            return (self.dir / "error.log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            stop(self.proc)


def template():
    """An initialised data directory: the tests' (made once per machine) or one of our own."""
    version = subprocess.run([MARIADBD, "--version"], capture_output=True, text=True).stdout
    tag = next((word for word in version.split() if word[:1].isdigit()), "unknown")
    tests = Path(tempfile.gettempdir()) / f"twooter-mariadb-template-{tag}"
    if (tests / "mysql").is_dir():
        return tests
    ours = WORK / "galera" / "template"
    if not (ours / "mysql").is_dir():
        shutil.rmtree(ours, ignore_errors=True)
        run(["mariadb-install-db", "--no-defaults", f"--datadir={ours}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"], timeout=120)
    return ours


def single(root):
    node = Node(root, "single", [])
    node.start()
    node.wait_up()
    return [node]


def cluster(root, size=3):
    gcomm = [free_port() for _ in range(size)]
    address = "gcomm://" + ",".join(f"127.0.0.1:{port}" for port in gcomm)
    nodes = []
    for index, port in enumerate(gcomm):
        args = ["--wsrep-on=ON", f"--wsrep-provider={PROVIDER}", "--wsrep-cluster-name=bench",
                f"--wsrep-cluster-address={address}", f"--wsrep-node-name=node{index + 1}",
                f"--wsrep-node-address=127.0.0.1:{port}",
                f"--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{port};"
                f"ist.recv_addr=127.0.0.1:{free_port()}",
                f"--wsrep-sst-receive-address=127.0.0.1:{free_port()}", "--wsrep-sst-method=rsync",
                "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2"]
        nodes.append(Node(root, f"node{index + 1}", args, initialised=index == 0))
    nodes[0].start(["--wsrep-new-cluster"])
    nodes[0].wait_synced()
    for node in nodes[1:]:
        node.start()
    for node in nodes[1:]:
        node.wait_synced()
    return nodes


def load(servers, path, connections, seconds, script=None):
    """wrk against every server at once, the connections shared out; the rates add up, the
    latencies are the worst server's."""
    share = max(2, connections // len(servers))
    runs = []
    for server in servers:
        cmd = wrk_command(server.port, path, share, seconds, script)
        runs.append((cmd, spawn(cmd, cwd=WORK, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)))
    results = [parse_wrk(collect(proc, cmd, timeout=seconds + 60)[1]) for cmd, proc in runs]
    return {
        "rps": sum(r["rps"] for r in results),
        "p50_ms": max(r["p50_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "errors": sum(r["non2xx"] + sum(r["socket_errors"].values()) for r in results),
    }


def measure(args, servers, label):
    """Posts alone; then tag pages while a quarter as many connections keep posting, which is
    when read-your-writes has commits to wait for."""
    tag, post = f"/messages?tag={TAG}&limit={LIMIT}", "/messages"
    if args.warmup:
        load(servers, post, args.galera_connections, args.warmup, post_script())
    figures = {"post": load(servers, post, args.galera_connections, args.duration, post_script())}
    writers = max(2 * len(servers), args.galera_connections // 4)
    background = [spawn(wrk_command(server.port, post, max(2, writers // len(servers)),
                                    args.duration + 2 * args.warmup + 2, post_script()),
                        cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for server in servers]
    try:
        if args.warmup:
            load(servers, tag, args.galera_connections, args.warmup)
        figures["tag"] = load(servers, tag, args.galera_connections, args.duration)
    finally:
        for proc in background:
            stop(proc)
    for key in ("post", "tag"):
        log(f"{label} {key}: {figures[key]['rps']:.0f} req/s, p50 {figures[key]['p50_ms']:.2f} ms, "
            f"p99 {figures[key]['p99_ms']:.2f} ms, {figures[key]['errors']} errors")
    return figures


def topology(args, root, name, nodes_of, settings):
    """Seeds a database through the first node, then measures through one instance per node."""
    nodes = nodes_of(root / name)
    try:
        nodes[0].sql("CREATE DATABASE twooter")
        twooter(nodes[0].url("twooter"), "seed", "--count", str(args.galera_rows),
                "--seed", str(args.seed), timeout=3600)
        figures = {}
        for label, extra in settings:
            servers = [Server(node.url("twooter"), args.pool, WORK / "logs" / f"{name}-{label}-{i}.log",
                              extra_env=extra) for i, node in enumerate(nodes)]
            try:
                figures[label] = measure(args, servers, f"{name} ({label})")
            finally:
                for server in servers:
                    server.stop()
        return figures
    finally:
        for node in nodes:
            node.stop()


def bench(args):
    procs.PINNING["on"] = False
    root = WORK / "galera"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    results = {"rows": args.galera_rows, "connections": args.galera_connections,
               "duration_s": args.duration}
    on = {"DATABASE_READ_YOUR_WRITES": "true"}
    off = {"DATABASE_READ_YOUR_WRITES": "false"}
    results["single"] = topology(args, root, "single", single, [("one server", on)])
    results["galera"] = topology(args, root, "galera", cluster,
                                 [("read-your-writes", on), ("no read-your-writes", off)])
    shutil.rmtree(root, ignore_errors=True)
    return results


def render(results, machine, commit, date):
    g = results
    rows = []
    for name, label in [("single", "one server"), ("galera", "read-your-writes"),
                        ("galera", "no read-your-writes")]:
        figures = g[name][label]
        topology_name = "1 MariaDB server, 1 instance" if name == "single" else \
            f"3-node Galera, 3 instances ({label})"
        rows.append([topology_name] + [
            value for key in ("post", "tag") for value in (
                f"{figures[key]['rps']:,.0f}", f"{figures[key]['p50_ms']:.2f}",
                f"{figures[key]['p99_ms']:.2f}", str(figures[key]['errors']))])
    one, ryw, fast = (g["single"]["one server"], g["galera"]["read-your-writes"],
                      g["galera"]["no read-your-writes"])
    lines = [
        f"Measured {date} on {machine} at {commit}: {g['rows']:,} twoots seeded, wrk with "
        f"{g['connections']} connections in all for {g['duration_s']:.0f} s per run, shared out "
        f"over the instances. Tag pages are read while a quarter as many connections keep "
        f"posting, which is when read-your-writes has commits to wait for.",
        "",
        "| topology | POST req/s | p50 ms | p99 ms | errors | tag page req/s (with posts) | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ] + ["| " + " | ".join(row) + " |" for row in rows] + [
        "",
        f"- Galera ÷ one server: posts {ryw['post']['rps'] / one['post']['rps']:.2f}, "
        f"tag pages {ryw['tag']['rps'] / one['tag']['rps']:.2f}.",
        f"- Read-your-writes costs tag pages {(1 - ryw['tag']['rps'] / fast['tag']['rps']) * 100:.0f}% "
        f"of their rate and {ryw['tag']['p50_ms'] - fast['tag']['p50_ms']:+.2f} ms at p50 "
        f"({fast['tag']['rps']:,.0f} → {ryw['tag']['rps']:,.0f} req/s).",
    ]
    return "\n".join(lines)
