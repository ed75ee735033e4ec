"""Throughput and latency of debatebox's JSON API under gunicorn, against a bare ceiling.

Usage::

    python benchmarks/bench_api.py [--db sqlite|postgresql|mariadb] [--quick]

What it does (docs/benchmarks.md explains every figure):

1. makes a fresh database (a temporary SQLite file, or a database ``debatebox_bench``
   on the local PostgreSQL / MariaDB server, dropped again at the end) and seeds it
   through debatebox's own posting service: a thread of 1,000 comments, one of 10
   (30% of them replies to a random earlier comment, ~200-character Markdown bodies),
   and 100 small threads for the counts request;
2. starts ``gunicorn -w 2`` (sync workers) twice, each on a free loopback port: once with
   ``debatebox.standalone:create_app()`` and once with ``ceiling_app.py``, a bare Flask
   app that serves the same 1,000 rows with one Core select and ``jsonify``;
3. runs each scenario with a warm-up and then a measured run, each bounded both in
   requests and in seconds, with wrk when it is installed (else the Python generator
   in ``loadgen.py``), checks every answer's status, and records the CPU that the
   workers, the database, the load generator and everything else used;
4. reads the peak RSS (``VmHWM``) of each gunicorn worker;
5. prints a table, debatebox's whole-thread read rate as a share of the ceiling's, and
   the targets with PASS/FAIL, and writes the figures as JSON to ``benchmarks/results/``.

Every request goes to 127.0.0.1; every server it starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import os
import platform
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import loadgen
import sqlalchemy as sa
from loadgen import SEQ, Result, Scenario

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
API = "/debatebox/api"
#: The gunicorn configuration debatebox ships (gc.freeze() in every worker).
GC_FREEZE_CONFIG = "python:debatebox.server"
WORKERS = 2
#: The load posts many comments from one address and email, fast and alike: the limits,
#: spam checks and duplicate detection that would refuse that are off while measuring.
UNGUARDED = {
    "DEBATEBOX_RATE_LIMIT": "",
    "DEBATEBOX_EMAIL_RATE_LIMIT": "",
    "DEBATEBOX_SPAM_CHECKS": "0",
    "DEBATEBOX_DUPLICATE_WINDOW": "0",
    "DEBATEBOX_MIN_FILL_SECONDS": "0",
}
BENCH_DATABASE = "debatebox_bench"
ADMIN_URLS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql://root@127.0.0.1:3306/test",
}

BIG_THREAD = "bench/thread-1000"
SMALL_THREAD = "bench/thread-10"
POST_THREAD = "bench/posting"
COUNT_THREADS = [f"bench/counts/{index:03d}" for index in range(100)]
REPLY_SHARE = 0.3

# Targets -------------------------------------------------------------------------------
CEILING_SHARE = 0.50
P99_LIMIT_MS = 200.0
SMALL_THREAD_RPS = 500.0
WORKER_RSS_MIB = 80.0
#: Above this share of the machine's CPU used by other processes, a warning is printed.
NOISY_PERCENT = 10.0


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long and how many requests each run may take."""

    seconds: float
    max_requests: int
    warmup_seconds: float
    warmup_requests: int
    max_posts: int


FULL = Budget(
    seconds=10.0, max_requests=50_000, warmup_seconds=2.0, warmup_requests=5_000, max_posts=5_000
)
QUICK = Budget(
    seconds=2.0, max_requests=10_000, warmup_seconds=0.5, warmup_requests=1_000, max_posts=500
)


# Databases -----------------------------------------------------------------------------


def _sql_engine(url: str) -> sa.Engine:
    from ceiling_app import database_url

    return sa.create_engine(database_url(url), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def bench_database(kind: str, workdir: Path, admin_url: str | None) -> Iterator[str]:
    """A fresh, empty database for one run; dropped (or deleted) afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    admin = admin_url or ADMIN_URLS[kind]
    engine = _sql_engine(admin)
    if kind == "postgresql":
        drop = f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"
        create = f"CREATE DATABASE {BENCH_DATABASE} ENCODING 'UTF8' TEMPLATE template0"
    else:
        drop = f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"
        create = (
            f"CREATE DATABASE {BENCH_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    with engine.connect() as connection:
        connection.execute(sa.text(drop))
        connection.execute(sa.text(create))
    try:
        yield sa.make_url(admin).set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(drop))
        engine.dispose()


def server_version(url: str) -> str:
    engine = _sql_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                version = connection.exec_driver_sql("select sqlite_version()").scalar()
                return f"SQLite {version}"
            version = connection.exec_driver_sql("select version()").scalar()
            return str(version).split(" on ")[0]
    finally:
        engine.dispose()


# Seeding -------------------------------------------------------------------------------

_WORD_TEXT = """
argument evidence premise claim rebuttal source study survey policy budget city transit
housing school climate energy market price cost benefit risk trade-off data model forecast
history context detail example point question answer reason fair honest clear weak strong
likely unlikely obvious subtle local national
"""
_NAME_TEXT = """
Ada Grace Alan Edsger Barbara Donald Frances Ken Margaret John Radia Tim Vint Hedy Katherine
Dennis Sophie Linus Guido Brian Niklaus Leslie Shafi Whitfield
"""
_WORDS = tuple(_WORD_TEXT.split())
_NAMES = tuple(_NAME_TEXT.split())


def markdown_body(rng: random.Random, serial: int, target: int = 200) -> str:
    """A distinct ~``target``-character Markdown comment with some emphasis and links."""
    words: list[str] = [f"#{serial}"]
    length = 0
    while length < target - 12:
        word = rng.choice(_WORDS)
        roll = rng.random()
        if roll < 0.07:
            word = f"*{word}*"
        elif roll < 0.11:
            word = f"**{word}**"
        elif roll < 0.14:
            word = f"[{word}](https://example.org/{word}/{serial})"
        elif roll < 0.15:
            word = f"`{word}`"
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)
    if rng.random() < 0.2:
        cut = text.find(" ", len(text) // 2)
        if cut > 0:
            text = text[:cut] + ".\n\n" + text[cut + 1 :].capitalize()
    return text[0].upper() + text[1:] + "."


@dataclasses.dataclass
class Seeded:
    big_thread_id: int
    comments: dict[str, int]
    replies: dict[str, int]
    seconds: float


def seed(url: str, workdir: Path, secret: str, rng: random.Random) -> Seeded:
    """Store the benchmark's threads through debatebox's posting service."""
    from debatebox import comments, threads
    from debatebox.standalone import create_app
    from debatebox.web import get_state, session

    app = create_app(
        {
            "DEBATEBOX_DATABASE_URL": url,
            "DEBATEBOX_SECRET_KEY": secret,
            **UNGUARDED,
        },
        instance_path=str(workdir / "instance"),
    )
    started = time.perf_counter()
    serial = 0
    stored: dict[str, int] = {}
    replies: dict[str, int] = {}
    client = comments.Client(trusted=True)
    with app.test_request_context():
        state = get_state()
        db = session()

        def thread(key: str, size: int) -> None:
            nonlocal serial
            reply_count = round(size * REPLY_SHARE) if size > 1 else 0
            kinds = [True] * reply_count + [False] * (size - reply_count)
            rng.shuffle(kinds)
            if kinds and kinds[0]:  # the first comment has nothing to answer
                kinds[kinds.index(False)] = True
                kinds[0] = False
            ids: list[int] = []
            for is_reply in kinds:
                serial += 1
                name = rng.choice(_NAMES)
                data: dict[str, Any] = {
                    "thread": key,
                    "title": f"Benchmark thread {key}",
                    "name": name,
                    "email": f"{name.lower()}{serial % 7}@example.org",
                    "body": markdown_body(rng, serial),
                }
                if rng.random() < 0.3:
                    data["website"] = f"https://{name.lower()}.example.net/"
                if is_reply:
                    data["parent"] = rng.choice(ids)
                posted = comments.post(state, db, data, client)
                ids.append(posted.comment.id)
            stored[key] = len(ids)
            replies[key] = reply_count

        thread(BIG_THREAD, 1000)
        thread(SMALL_THREAD, 10)
        for key in COUNT_THREADS:
            thread(key, rng.randint(1, 4))
        info = threads.find(db, BIG_THREAD)
        assert info is not None
        big_id = info.id
    app.extensions["debatebox"].engine.dispose()
    return Seeded(big_id, stored, replies, time.perf_counter() - started)


# Servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Gunicorn:
    """``gunicorn -w 2`` on a free loopback port, always stopped on exit."""

    def __init__(
        self,
        label: str,
        app_spec: str,
        env: dict[str, str],
        workdir: Path,
        pythonpath: Path | None = None,
        config: str | None = None,
    ) -> None:
        self.label = label
        self.app_spec = app_spec
        self.env = env
        self.log_path = workdir / f"gunicorn-{label}.log"
        self.pythonpath = pythonpath
        self.config = config
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(WORKERS),
            "-k",
            "sync",
            "-b",
            f"{HOST}:{self.port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        if self.pythonpath is not None:
            command += ["--pythonpath", str(self.pythonpath)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        command.append(self.app_spec)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.log_path.parent,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.label}) exited:\n{self.log_tail()}")
            try:
                status, _headers, _body = fetch(self.port, "/healthz", timeout=2)
            except OSError:
                status = 0
            if status == 200 and len(self.worker_pids()) == WORKERS:
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"gunicorn ({self.label}) did not answer in {timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(child) for child in children)

    def peak_rss_mib(self) -> dict[int, float]:
        """Peak resident set size (VmHWM) of every worker, in MiB."""
        peaks: dict[int, float] = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1]) / 1024.0
        return peaks

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        # Workers left behind by a master that died first share its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


# CPU accounting ------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")
DATABASE_PROCESSES = frozenset({"postgres", "mariadbd", "mysqld"})


def _pid_cpu(pid: int) -> tuple[str, float] | None:
    """A process's name and user + system CPU seconds so far."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / _TICK


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(value) for value in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _database_cpu(kind: str) -> float:
    """CPU seconds of the database server's work for this benchmark so far.

    PostgreSQL: the backends connected to the benchmark database (their process titles
    name it). MariaDB: the whole ``mariadbd`` process, shared with anything else that
    uses the server. SQLite runs inside the workers: 0.
    """
    if kind == "sqlite":
        return 0.0
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        found = _pid_cpu(int(entry.name))
        if found is None or found[0] not in DATABASE_PROCESSES:
            continue
        if kind == "postgresql":
            try:
                title = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if f" {BENCH_DATABASE} ".encode() not in title:
                continue
        total += found[1]
    return total


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (wrk, Python clients)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclasses.dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    machine: float
    workers: dict[int, float]
    database: float
    client: float

    @classmethod
    def take(cls, worker_pids: list[int], database: str) -> CpuSnapshot:
        workers = {}
        for pid in worker_pids:
            found = _pid_cpu(pid)
            if found:
                workers[pid] = found[1]
        return cls(time.monotonic(), _machine_busy(), workers, _database_cpu(database), _own_cpu())


@dataclasses.dataclass(frozen=True)
class CpuUse:
    """Where the machine's CPU went during one measured run."""

    #: gunicorn workers' CPU per answered request, in milliseconds.
    server_ms_per_request: float
    #: Database server processes' CPU per request (0 for SQLite, which runs in-process).
    database_ms_per_request: float
    #: The load generator's CPU, in percent of one core.
    client_percent: float
    #: Everything else that ran on the machine, in percent of all cores: high means that
    #: other work competed with the benchmark and its rates are low.
    others_percent: float

    @classmethod
    def between(cls, before: CpuSnapshot, after: CpuSnapshot, requests: int) -> CpuUse:
        wall = max(after.wall - before.wall, 1e-9)
        workers = sum(
            seconds - before.workers.get(pid, 0.0) for pid, seconds in after.workers.items()
        )
        database = max(0.0, after.database - before.database)
        client = after.client - before.client
        machine = after.machine - before.machine
        others = max(0.0, machine - workers - database - client)
        per = 1000.0 / max(requests, 1)
        return cls(
            server_ms_per_request=workers * per,
            database_ms_per_request=database * per,
            client_percent=100.0 * client / wall,
            others_percent=100.0 * others / (wall * (os.cpu_count() or 1)),
        )


# Running scenarios ---------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One measured scenario: its figures and the CPU it took."""

    key: str
    label: str
    server: str
    result: Result
    cpu: CpuUse


class Bench:
    def __init__(self, tool: str, budget: Budget, database: str) -> None:
        self.tool = tool
        #: ``sqlite``, ``postgresql`` or ``mariadb``: whose CPU counts as the database's.
        self.database = database
        self.budget = budget
        self.runs: list[Run] = []
        #: Runs of the load generator check, kept out of the main table.
        self.checks: list[Run] = []
        self.problems: list[str] = []

    def measure(
        self,
        server: Gunicorn,
        key: str,
        label: str,
        scenario: Scenario,
        *,
        tool: str | None = None,
        check_only: bool = False,
    ) -> Result:
        """Warm up, then measure ``scenario`` once, with the CPU each party used."""
        tool = tool or self.tool
        budget = self.budget
        warm = scenario.bounded(
            min(budget.warmup_requests, scenario.max_requests), budget.warmup_seconds, "warm-up"
        )
        print(f"  {label} (c={scenario.concurrency}, {tool}) ...", file=sys.stderr, flush=True)
        loadgen.run(HOST, server.port, warm, tool=tool, tag=f"{key}-warm")
        before = CpuSnapshot.take(server.worker_pids(), self.database)
        result = loadgen.run(HOST, server.port, scenario, tool=tool, tag=f"{key}-run")
        cpu = CpuUse.between(
            before, CpuSnapshot.take(server.worker_pids(), self.database), result.requests
        )
        result.scenario = label
        if result.errors:
            self.problems.append(f"{label}: {result.errors} unexpected answers ({result.statuses})")
        run = Run(key, label, server.label, result, cpu)
        (self.checks if check_only else self.runs).append(run)
        return result

    def scenario(self, name: str, path: str, concurrency: int, **options: Any) -> Scenario:
        max_requests = options.pop("max_requests", self.budget.max_requests)
        return Scenario(
            name=name,
            path=path,
            concurrency=concurrency,
            max_requests=max_requests,
            max_seconds=self.budget.seconds,
            **options,
        )

    def get(self, key: str) -> Result | None:
        found = self.run(key)
        return found.result if found else None

    def run(self, key: str) -> Run | None:
        return next((run for run in self.runs if run.key == key), None)


def _count_nodes(nodes: list[dict[str, Any]]) -> int:
    total = 0
    stack = list(nodes)
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(node["replies"])
    return total


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(f"sanity check failed: {message}")


def run_scenarios(
    bench: Bench, server: Gunicorn, ceiling: Gunicorn, seeded: Seeded
) -> dict[str, Any]:
    """Every scenario; returns facts checked along the way.

    The whole-thread reads of debatebox and of the ceiling take turns (c=1 both, then
    c=8 both), so that a change in background load hits both sides of the ratio alike.
    """
    port = server.port
    big = f"{API}/comments?thread={BIG_THREAD}&limit=1000"
    small = f"{API}/comments?thread={SMALL_THREAD}&limit=1000"

    status, headers, body = fetch(port, big)
    check(status == 200, f"GET {big} answered {status}")
    payload = json.loads(body)
    check(payload["thread"]["count"] == 1000, "the big thread does not count 1,000 comments")
    check(_count_nodes(payload["comments"]) == 1000, "the big thread does not show 1,000 nodes")
    check(payload["next_cursor"] is None, "limit=1000 did not return the whole thread")
    etag = headers.get("ETag") or headers.get("Etag") or ""
    check(bool(etag), "no ETag on the thread read")
    status, _h, _b = fetch(port, big, headers={"If-None-Match": etag})
    check(status == 304, f"If-None-Match answered {status}, not 304")
    status, _h, body = fetch(port, small)
    check(
        status == 200 and _count_nodes(json.loads(body)["comments"]) == 10,
        "the 10-comment thread is not whole",
    )
    counts_path = f"{API}/counts?" + "&".join(f"thread={key}" for key in COUNT_THREADS)
    status, _h, body = fetch(port, counts_path)
    counts = json.loads(body)["counts"]
    check(
        status == 200 and counts == {key: seeded.comments[key] for key in COUNT_THREADS},
        "the counts request does not match what was seeded",
    )
    status, _h, body = fetch(port, f"{API}/config")
    check(status == 200, "GET /config failed")
    form_token = json.loads(body)["form_token"]

    ceiling_path = check_ceiling(ceiling, seeded)
    for concurrency in (1, 8):
        key = f"big-c{concurrency}"
        bench.measure(
            server, key, "read 1,000-comment thread", bench.scenario(key, big, concurrency)
        )
        key = f"ceiling-c{concurrency}"
        bench.measure(
            ceiling,
            key,
            "ceiling: bare Flask, 1,000 rows",
            bench.scenario(key, ceiling_path, concurrency),
        )
    bench.measure(
        server,
        "etag-c8",
        "re-read unchanged thread (304)",
        bench.scenario("etag-c8", big, 8, headers=(("If-None-Match", etag),), expect=(304,)),
    )
    bench.measure(
        server, "small-c8", "read 10-comment thread", bench.scenario("small-c8", small, 8)
    )
    bench.measure(
        server, "counts-c8", "counts for 100 threads", bench.scenario("counts-c8", counts_path, 8)
    )

    template = json.dumps(
        {
            "thread": POST_THREAD,
            "name": "Load Tester",
            "email": "load.tester@example.org",
            "body": f"Benchmark comment {SEQ}: a *distinct* body with **emphasis** and a "
            f"[link](https://example.org/posts/{SEQ}).",
            "form_token": form_token,
        }
    )
    post_options: dict[str, Any] = {
        "method": "POST",
        "headers": (("Content-Type", "application/json"),),
        "body_template": template,
        "expect": (201,),
        "max_requests": bench.budget.max_posts,
    }
    probe = template.replace(SEQ, "probe")
    status, _h, body = fetch(
        port,
        f"{API}/comments",
        method="POST",
        body=probe.encode(),
        headers={"Content-Type": "application/json"},
    )
    check(status == 201, f"POST answered {status}: {body[:300]!r}")
    for concurrency in (1, 8):
        bench.measure(
            server,
            f"post-c{concurrency}",
            "post a comment",
            bench.scenario(f"post-c{concurrency}", f"{API}/comments", concurrency, **post_options),
        )
    status, _h, body = fetch(port, f"{API}/counts?thread={POST_THREAD}")
    stored = json.loads(body)["counts"][POST_THREAD]
    answered = sum(
        run.result.statuses.get("201", 0) for run in bench.runs if run.key.startswith("post-")
    )
    # Warm-up posts are stored too, and a run cut off by its time limit can leave a post
    # stored whose answer was never read: stored >= answered is the check.
    check(stored >= answered + 1, f"{answered} posts answered 201 but {stored} stored")
    return {"etag": etag, "posts_stored": stored, "posts_answered_201": answered}


def check_ceiling(server: Gunicorn, seeded: Seeded) -> str:
    """The ceiling's path for the big thread, once checked to return all 1,000 rows."""
    path = f"/thread/{seeded.big_thread_id}"
    status, _h, body = fetch(server.port, path)
    check(
        status == 200 and len(json.loads(body)["comments"]) == 1000,
        "the ceiling app does not return 1,000 rows",
    )
    return path


def run_loadgen_check(bench: Bench, server: Gunicorn) -> None:
    """The 10-comment read at c=8 again with the Python generator, to compare with wrk."""
    small = f"{API}/comments?thread={SMALL_THREAD}&limit=1000"
    for tool in ("python", "python-processes"):
        bench.measure(
            server,
            f"check-{tool}",
            "read 10-comment thread",
            bench.scenario(f"check-{tool}", small, 8),
            tool=tool,
            check_only=True,
        )


# Report --------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    ok: bool
    text: str


def targets(bench: Bench, rss: dict[int, float]) -> list[Target]:
    found: list[Target] = []
    for concurrency in (1, 8):
        ours = bench.get(f"big-c{concurrency}")
        ceiling = bench.get(f"ceiling-c{concurrency}")
        if ours and ceiling and ceiling.rps > 0:
            share = ours.rps / ceiling.rps
            found.append(
                Target(
                    share >= CEILING_SHARE,
                    f"1,000-comment thread at c={concurrency}: {ours.rps:.1f} req/s ="
                    f" {share:.0%} of the ceiling's {ceiling.rps:.1f} req/s"
                    f" (target >= {CEILING_SHARE:.0%})",
                )
            )
    for run in bench.runs:
        if run.server == "debatebox" and run.result.concurrency == 8:
            p99 = run.result.p99_ms
            found.append(
                Target(
                    p99 < P99_LIMIT_MS,
                    f"p99 at c=8, {run.label}: {p99:.1f} ms (target < {P99_LIMIT_MS:.0f} ms)",
                )
            )
    small = bench.get("small-c8")
    if small:
        found.append(
            Target(
                small.rps >= SMALL_THREAD_RPS,
                f"10-comment thread at c=8: {small.rps:.0f} req/s"
                f" (target >= {SMALL_THREAD_RPS:.0f})",
            )
        )
    if rss:
        found.append(
            Target(
                max(rss.values()) < WORKER_RSS_MIB,
                "peak RSS per worker: "
                + ", ".join(f"{value:.1f}" for value in rss.values())
                + f" MiB (target < {WORKER_RSS_MIB:.0f} MiB each)",
            )
        )
    return found


COLUMNS = (
    ("server", "<", 9),
    ("scenario", "<", 30),
    ("conc", ">", 4),
    ("requests", ">", 8),
    ("err", ">", 3),
    ("req/s", ">", 8),
    ("p50 ms", ">", 7),
    ("p99 ms", ">", 7),
    ("max ms", ">", 7),
    ("srv ms/req", ">", 10),
    ("db ms/req", ">", 9),
    ("client %", ">", 8),
    ("others %", ">", 8),
)


def table(runs: list[Run]) -> str:
    def line(values: list[str]) -> str:
        return " ".join(
            f"{value:{align}{width}}"
            for value, (_n, align, width) in zip(values, COLUMNS, strict=True)
        )

    header = line([name for name, _a, _w in COLUMNS])
    lines = [header, "-" * len(header)]
    for run in runs:
        result, cpu = run.result, run.cpu
        lines.append(
            line(
                [
                    run.server,
                    run.label,
                    str(result.concurrency),
                    str(result.requests),
                    str(result.errors),
                    f"{result.rps:.1f}",
                    f"{result.p50_ms:.2f}",
                    f"{result.p99_ms:.2f}",
                    f"{result.max_ms:.2f}",
                    f"{cpu.server_ms_per_request:.2f}",
                    f"{cpu.database_ms_per_request:.2f}",
                    f"{cpu.client_percent:.0f}",
                    f"{cpu.others_percent:.0f}",
                ]
            )
        )
    return "\n".join(lines)


def cpu_comparison(bench: Bench) -> list[str]:
    """Server CPU per whole-thread read, debatebox against the ceiling (noise-proof)."""
    lines = []
    for concurrency in (1, 8):
        ours = bench.run(f"big-c{concurrency}")
        ceiling = bench.run(f"ceiling-c{concurrency}")
        if ours is None or ceiling is None:
            continue
        mine = ours.cpu.server_ms_per_request + ours.cpu.database_ms_per_request
        theirs = ceiling.cpu.server_ms_per_request + ceiling.cpu.database_ms_per_request
        if mine > 0:
            lines.append(
                f"  c={concurrency}: debatebox {mine:.2f} ms, ceiling {theirs:.2f} ms of CPU"
                f" (workers + database) per read: debatebox needs {mine / theirs:.2f}x"
                f" the ceiling's CPU, i.e. could reach {theirs / mine:.0%} of its rate"
            )
    return lines


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("debatebox", "Flask", "SQLAlchemy", "gunicorn", "psycopg", "PyMySQL"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def run_dict(run: Run) -> dict[str, Any]:
    return {
        "server": run.server,
        "key": run.key,
        **run.result.as_dict(),
        "cpu": dataclasses.asdict(run.cpu),
    }


# Main ----------------------------------------------------------------------------------


def _raise_on_sigterm() -> None:
    def handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def choose_tool(requested: str) -> str:
    if requested != "auto":
        if requested == "wrk" and loadgen.wrk_path() is None:
            raise SystemExit("wrk is not installed (apt-get install -y wrk)")
        return requested
    return "wrk" if loadgen.wrk_path() is not None else "python-processes"


def describe_tool(tool: str, requested: str) -> str:
    why = "chosen with --loadgen" if requested != "auto" else "wrk is not installed"
    if tool == "wrk":
        version = loadgen.wrk_version().split(" Copyright")[0]
        return f"wrk ({version}, 1 wrk thread driving all connections)"
    if tool == "python-processes":
        return f"Python loadgen.py (http.client, 2 processes x threads; {why})"
    return f"Python loadgen.py (http.client, threads in one process; {why})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="a few seconds per scenario")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python", "python-processes"),
        default="auto",
        help="auto: wrk when installed, else Python",
    )
    parser.add_argument(
        "--admin-url",
        help="server URL used to create and drop the"
        f" database {BENCH_DATABASE} (default: the local test server)",
    )
    parser.add_argument(
        "--skip-loadgen-check",
        action="store_true",
        help="do not compare the Python generator with wrk",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="run both servers with gunicorn -c python:debatebox.server (gc.freeze() per worker)",
    )
    parser.add_argument("--no-json", action="store_true", help="write no results file")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args(argv)
    _raise_on_sigterm()

    tool = choose_tool(args.loadgen)
    gunicorn_config = GC_FREEZE_CONFIG if args.gc_freeze else None
    budget = QUICK if args.quick else FULL
    bench = Bench(tool, budget, args.db)
    rng = random.Random(args.seed)
    secret = "bench-" + "k" * 40
    started = time.perf_counter()
    rss: dict[int, float] = {}
    ceiling_rss: dict[int, float] = {}
    facts: dict[str, Any] = {}

    with tempfile.TemporaryDirectory(prefix="debatebox-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "instance").mkdir()
        with bench_database(args.db, workdir, args.admin_url) as url:
            database = server_version(url)
            print(f"seeding {args.db} ({database}) ...", file=sys.stderr, flush=True)
            seeded = seed(url, workdir, secret, rng)
            env = {
                **os.environ,
                "DEBATEBOX_DATABASE_URL": url,
                "DEBATEBOX_SECRET_KEY": secret,
                **UNGUARDED,
                "DEBATEBOX_MAX_PAGE_SIZE": "1000",
                "DEBATEBOX_INSTANCE_PATH": str(workdir / "instance"),
            }
            ceiling_env = {**os.environ, "CEILING_DATABASE_URL": url}
            print("debatebox and the ceiling app under gunicorn:", file=sys.stderr, flush=True)
            with (
                Gunicorn(
                    "debatebox",
                    "debatebox.standalone:create_app()",
                    env,
                    workdir,
                    config=gunicorn_config,
                ) as server,
                Gunicorn(
                    "ceiling",
                    "ceiling_app:create_app()",
                    ceiling_env,
                    workdir,
                    pythonpath=HERE,
                    config=gunicorn_config,
                ) as ceiling,
            ):
                facts = run_scenarios(bench, server, ceiling, seeded)
                if tool == "wrk" and not args.skip_loadgen_check:
                    run_loadgen_check(bench, server)
                rss = server.peak_rss_mib()
                ceiling_rss = ceiling.peak_rss_mib()

    elapsed = time.perf_counter() - started
    found = targets(bench, rss)
    cores = os.cpu_count() or 0
    print()
    print(f"debatebox API benchmark ({'quick' if args.quick else 'full'} run)")
    print(f"  database:       {args.db} ({database})")
    print(f"  load generator: {describe_tool(tool, args.loadgen)}")
    print(
        f"  servers:        gunicorn {WORKERS} sync workers each, 127.0.0.1,"
        f" {cores} CPU cores shared with the load generator and the database"
    )
    if gunicorn_config is not None:
        print(f"  gunicorn config: {gunicorn_config} (gc.freeze() in every worker)")
    print(
        f"  bounds:         each run <= {budget.seconds:.0f} s and <= {budget.max_requests:,}"
        f" requests ({budget.max_posts:,} for posts), after a warm-up of"
        f" <= {budget.warmup_seconds:g} s"
    )
    print(
        f"  seeded:         {seeded.comments[BIG_THREAD]} comments"
        f" ({seeded.replies[BIG_THREAD]} replies), {seeded.comments[SMALL_THREAD]} comments"
        f" ({seeded.replies[SMALL_THREAD]} replies), {len(COUNT_THREADS)} small threads"
        f" in {seeded.seconds:.1f} s"
    )
    print()
    print(table(sorted(bench.runs, key=lambda run: run.server != "debatebox")))
    print()
    print("CPU per 1,000-comment read:")
    for line in cpu_comparison(bench):
        print(line)
    if bench.checks:
        small = bench.get("small-c8")
        print()
        print("Load generator check: the 10-comment read at c=8 with the Python clients:")
        for run in bench.checks:
            result = run.result
            versus = f" = {result.rps / small.rps:.0%} of the rate with wrk" if small else ""
            print(
                f"  {result.tool:<20} {result.rps:>8.1f} req/s  p50 {result.p50_ms:.2f} ms"
                f"  p99 {result.p99_ms:.2f} ms  client CPU {run.cpu.client_percent:.0f}%"
                f" of a core{versus}"
            )
        wrk_run = bench.run("small-c8")
        if wrk_run:
            print(f"  {'wrk':<20} client CPU {wrk_run.cpu.client_percent:.0f}% of a core")
    print()
    print(
        "Peak RSS per worker (VmHWM): debatebox "
        + ", ".join(f"{value:.1f}" for value in rss.values())
        + " MiB; ceiling "
        + ", ".join(f"{value:.1f}" for value in ceiling_rss.values())
        + " MiB"
    )
    print(
        f"Posts answered 201: {facts.get('posts_answered_201')}; stored in the thread"
        f" (warm-ups and the probe included): {facts.get('posts_stored')}"
    )
    busiest = max((run.cpu.others_percent for run in bench.runs), default=0.0)
    if busiest > NOISY_PERCENT:
        print()
        print(
            f"WARNING: other processes used up to {busiest:.0f}% of the machine's CPU during"
            " a run (column 'others %'): rates are lower and latencies higher than on an"
            " idle machine. CPU per request (srv/db ms/req) is much less affected."
        )
    print()
    print("Targets:")
    for target in found:
        print(f"  {'PASS' if target.ok else 'FAIL'}  {target.text}")
    if bench.problems:
        print()
        print("Problems:")
        for problem in bench.problems:
            print(f"  {problem}")
    print()
    print(f"Finished in {elapsed:.0f} s.")

    if not args.no_json:
        RESULTS.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = RESULTS / f"bench_api-{args.db}-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "when": dt.datetime.now().isoformat(timespec="seconds"),
                    "quick": args.quick,
                    "gc_freeze": args.gc_freeze,
                    "database": {"kind": args.db, "server": database},
                    "load_generator": describe_tool(tool, args.loadgen),
                    "cores": cores,
                    "versions": versions(),
                    "budget": dataclasses.asdict(budget),
                    "seeded": dataclasses.asdict(seeded),
                    "runs": [run_dict(run) for run in bench.runs],
                    "loadgen_check": [run_dict(run) for run in bench.checks],
                    "worker_peak_rss_mib": {
                        "debatebox": list(rss.values()),
                        "ceiling": list(ceiling_rss.values()),
                    },
                    "facts": facts,
                    "targets": [dataclasses.asdict(target) for target in found],
                    "problems": bench.problems,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"Results written to {out.relative_to(HERE.parent)}")
    return 1 if bench.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
