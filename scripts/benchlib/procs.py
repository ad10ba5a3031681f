"""Process control: building, starting and stopping the server, wrk and the raw database bench,
and setting up the databases. Nothing here measures; `measure` reads the processes started here.

Every child dies with the script, however it ends.
"""

import atexit
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from .common import ROOT, SERVER, TAG, WORK, count_label, log

ACQUIRE_TIMEOUT = "3s"
# Longer than the service's 3 s pool wait, so a slow answer is measured as latency and a refused
# one shows as a non-2xx status, instead of wrk giving up on either at its default 2 s.
WRK_TIMEOUT = "10s"

# Settings the service reads that would change what is measured if the caller's shell set them.
SERVICE_VARIABLES = [
    "DATABASE_URL", "DB_URL", "HOST", "PORT", "DATABASE_MAX_CONNECTIONS", "DATABASE_ACQUIRE_TIMEOUT",
    "MIGRATE_ON_START", "REQUEST_TIMEOUT", "READINESS_TIMEOUT", "SHUTDOWN_GRACE_PERIOD",
    "LOG_FORMAT", "RUST_LOG", "CORS_ALLOWED_ORIGINS", "NODE_ID", "REDIS_URL", "NODE_LEASE_TTL",
    "MAX_CLOCK_SKEW", "DATABASE_READ_YOUR_WRITES", "RATE_LIMITS", "TRUSTED_PROXIES",
]

# The Cargo bench target of the raw database bench, and where the last build recorded its
# executable for `--no-build`.
RAW_BENCH = "raw_db"
RAW_RECORD = WORK / "raw_db.path"

children = set()

# ---------------------------------------------------------------------------------------------
# Children

try:
    _prctl = ctypes.CDLL(None).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    # PR_SET_PDEATHSIG: the kernel kills the child even if this script is SIGKILLed. Children are
    # started only while no other thread of this script runs, as preexec_fn requires.
    if _prctl:
        _prctl(1, signal.SIGKILL)


def spawn(cmd, **kwargs):
    proc = subprocess.Popen([str(c) for c in cmd], preexec_fn=_die_with_parent, **kwargs)
    children.add(proc)
    return proc


def stop(proc, grace=10.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    children.discard(proc)


def stop_all():
    for proc in list(children):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        children.discard(proc)


def on_signal(signum, _frame):
    stop_all()
    log(f"stopped by signal {signum}")
    sys.exit(128 + signum)


def stop_children_on_exit():
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    atexit.register(stop_all)


def run(cmd, env=None, timeout=None, cwd=WORK, check=True):
    """Runs cmd to the end and returns (exit status, stdout, stderr)."""
    proc = spawn(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return collect(proc, cmd, timeout, check)


def collect(proc, cmd, timeout=None, check=True):
    """Waits for a child started with pipes and returns (exit status, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        children.discard(proc)
        raise RuntimeError(f"{Path(str(cmd[0])).name} ran past {timeout} s: {err.strip()[-500:]}")
    children.discard(proc)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {err.strip()[-2000:]}")
    return proc.returncode, out, err


def last_json_line(out):
    return json.loads(out.strip().splitlines()[-1])


# With two or more cores, the load generator gets core 0 and the measured process (the server, or
# the raw bench with its in-process load) core 1, so that the API and the raw database each get one
# core and the ratio compares their costs, not how much CPU wrk happened to leave over.
PINNING = {"on": (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None}


def on_core(core, cmd):
    return ["taskset", "-c", str(core), *cmd] if PINNING["on"] else list(cmd)


# ---------------------------------------------------------------------------------------------
# Set-up

def build(raw=True):
    """Builds the raw bench (unless `raw` is false), recording its executable as Cargo names it,
    then the server."""
    if raw:
        build_raw_bench()
    # Building a bench also builds the server, with the dev-dependencies' features, into
    # target/release/twooter; the server's own build comes last so that the server measured is
    # the one `cargo build --release` makes (when fresh, Cargo only puts it back in place).
    cmd = ["cargo", "build", "--release", "--locked"]
    log("$ " + " ".join(cmd))
    if subprocess.call(cmd, cwd=ROOT) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed")


def build_raw_bench():
    # Cargo writes the bench under a hashed name; its JSON messages say which. Diagnostics still
    # go to the terminal as text.
    cmd = ["cargo", "build", "--release", "--locked", "--bench", RAW_BENCH,
           "--message-format=json-render-diagnostics"]
    log("$ " + " ".join(cmd))
    built = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if built.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed")
    executables = []
    for line in built.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if (message.get("reason") == "compiler-artifact" and message.get("executable")
                and message["target"]["name"] == RAW_BENCH and "bench" in message["target"]["kind"]):
            executables.append(message["executable"])
    if not executables:
        raise RuntimeError(f"{' '.join(cmd)} named no executable for the {RAW_BENCH} bench")
    RAW_RECORD.write_text(executables[-1] + "\n")


def raw_bench():
    """The raw database bench's executable that the last build recorded."""
    if not RAW_RECORD.exists():
        raise RuntimeError(f"{RAW_RECORD} is missing: run once without --no-build")
    return Path(RAW_RECORD.read_text().strip())


def check_binaries(raw=True):
    for binary in (SERVER, raw_bench()) if raw else (SERVER,):
        if not binary.exists():
            raise RuntimeError(f"{binary} is missing: build it or drop --no-build")


def ensure_wrk():
    if shutil.which("wrk"):
        return
    log("wrk is missing: installing the Debian package")
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "apt-get"]
    install = apt + ["install", "-y", "-q", "wrk"]
    if subprocess.call(install, stdout=subprocess.DEVNULL) != 0:
        # A fresh machine has no package lists yet.
        subprocess.call(apt + ["update", "-q"], stdout=subprocess.DEVNULL)
        if subprocess.call(install, stdout=subprocess.DEVNULL) != 0:
            raise RuntimeError("cannot install wrk")


def check_mysql(url):
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 3306), timeout=2).close()
    except OSError as error:
        raise RuntimeError(f"no MariaDB answers at {parts.hostname}:{parts.port or 3306}: {error}")


def grow_buffer_pool(url, size):
    """Grows InnoDB's buffer pool to at least size bytes; returns its size before and after."""
    _, out, _ = run([raw_bench(), "buffer-pool", "--url", url, "--bytes", size], timeout=600)
    return last_json_line(out)


# ---------------------------------------------------------------------------------------------
# Databases

def base_env():
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(LOG_FORMAT="json", RUST_LOG="warn")
    return env


def twooter(url, *arguments, timeout=None):
    env = base_env()
    env["DATABASE_URL"] = url
    return run([SERVER, *arguments], env=env, timeout=timeout)


def database_url(args, backend, size):
    name = f"twooter_bench_{count_label(size)}"
    if backend == "sqlite":
        return f"sqlite:{WORK / (name + '.db')}"
    return args.mysql_url.rstrip("/") + "/" + name


def reset_database(backend, url):
    if backend == "sqlite":
        path = Path(url[len("sqlite:"):])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        run([raw_bench(), "reset", "--url", url], timeout=600)


def probe(url):
    """What the runs read from a seeded database: its version, row count and the ids to read."""
    _, out, _ = run([raw_bench(), "probe", "--url", url, "--tag", TAG], timeout=1800)
    return last_json_line(out)


def write_csv(rows, path, seed):
    """A CSV export in the prototype's format, written by the raw bench."""
    run([raw_bench(), "csv", "--rows", rows, "--out", path, "--seed", seed], timeout=3600)


# ---------------------------------------------------------------------------------------------
# The server and wrk

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The release server on a free port, pinned to core 1; ready_ms is exec to first 200 from
    /readyz. extra_env adds or overrides the service's settings."""

    def __init__(self, url, pool, log_path, extra_env=None):
        self.port = free_port()
        env = base_env()
        env.update(DATABASE_URL=url, PORT=str(self.port), HOST="127.0.0.1",
                   MIGRATE_ON_START="false", DATABASE_MAX_CONNECTIONS=str(pool),
                   DATABASE_ACQUIRE_TIMEOUT=ACQUIRE_TIMEOUT, SHUTDOWN_GRACE_PERIOD="5s",
                   RATE_LIMITS="off")
        env.update(extra_env or {})
        self.log_path = log_path
        output = open(log_path, "ab")
        started = time.monotonic()
        self.proc = spawn(on_core(1, [SERVER]), env=env, cwd=WORK, stdout=output, stderr=subprocess.STDOUT)
        output.close()
        self.ready_ms = self._wait_ready(started)

    @property
    def pid(self):
        return self.proc.pid

    def _wait_ready(self, started):
        deadline = started + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited {self.proc.returncode}: {self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/readyz")
                status = connection.getresponse().status
                connection.close()
                if status == 200:
                    return (time.monotonic() - started) * 1000
            except OSError:
                pass
            time.sleep(0.001)
        raise RuntimeError(f"the server was not ready within 60 s: {self.log_tail()}")

    def log_tail(self):
        try:
            return Path(self.log_path).read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self):
        stop(self.proc)


def wrk_command(port, path, connections, seconds, script):
    # wrk needs a connection per thread: one connection gets one thread.
    threads = min(2, connections)
    cmd = on_core(0, ["wrk"]) + [f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                                 "--timeout", WRK_TIMEOUT]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    return cmd
