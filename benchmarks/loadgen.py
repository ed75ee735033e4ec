"""A bounded HTTP load generator for the benchmarks: wrk when installed, Python otherwise.

Every run is bounded twice: it stops after ``max_requests`` responses or after
``max_seconds``, whichever comes first, and it only ever talks to a loopback address.

Two back ends measure the same :class:`Scenario` and return the same :class:`Result`:

* :func:`run_wrk` drives ``wrk`` (C, event loop) with a generated Lua script that counts
  status codes, stops each wrk thread after its share of ``max_requests``, and makes a
  distinct body for every request when the scenario has a body template.
* :func:`run_python` uses ``http.client.HTTPConnection`` objects, one per simulated
  client, in threads; with ``processes > 1`` the clients are spread over that many
  processes so that the client side is not held back by one interpreter's GIL.

``python benchmarks/loadgen.py URL`` runs one GET scenario from the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import ipaddress
import json
import math
import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

#: The placeholder in a body template replaced by a unique string for each request.
SEQ = "__SEQ__"
_JSON_START = "@@LOADGEN-JSON@@"
_STOPPED = "@@LOADGEN-STOPPED@@"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One kind of request sent over and over by ``concurrency`` clients."""

    name: str
    path: str
    concurrency: int
    max_requests: int
    max_seconds: float
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    #: Request body; every occurrence of :data:`SEQ` becomes a string unique to this
    #: request (so that posted comments differ).
    body_template: str | None = None
    #: Status codes that count as success (anything else is an error).
    expect: tuple[int, ...] = (200,)

    def bounded(self, max_requests: int, max_seconds: float, suffix: str) -> Scenario:
        """A copy with other bounds and a name suffix (for warm-up runs)."""
        return dataclasses.replace(
            self, name=f"{self.name} {suffix}", max_requests=max_requests, max_seconds=max_seconds
        )


@dataclasses.dataclass
class Result:
    """What one run measured. Latencies are in milliseconds."""

    scenario: str
    tool: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    bytes_received: int = 0

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _check_host(host: str) -> None:
    """Refuse any target but this machine's loopback interface."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the load generator only targets loopback addresses, not {host!r}")


# Python back end ----------------------------------------------------------------------


@dataclasses.dataclass
class _Partial:
    latencies: list[float]
    statuses: Counter[str]
    errors: int
    bytes_received: int


class _Tickets:
    """Hands out at most ``limit`` request numbers across threads (or processes)."""

    def __init__(self, limit: int, shared: Any = None) -> None:
        self._limit = limit
        self._shared = shared  # a multiprocessing.Value("q") for process mode
        self._lock = threading.Lock()
        self._next = 0

    def take(self) -> int | None:
        if self._shared is not None:
            value = self._shared
            with value.get_lock():
                number = int(value.value)
                if number >= self._limit:
                    return None
                value.value = number + 1
                return number
        with self._lock:
            if self._next >= self._limit:
                return None
            self._next += 1
            return self._next - 1


def _client_loop(
    host: str,
    port: int,
    scenario: Scenario,
    deadline: float,
    tickets: _Tickets,
    tag: str,
    out: list[_Partial],
) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    headers = dict(scenario.headers)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    received = 0
    expect = scenario.expect
    while time.monotonic() < deadline:
        number = tickets.take()
        if number is None:
            break
        body = None
        if scenario.body_template is not None:
            body = scenario.body_template.replace(SEQ, f"{tag}-{number}").encode()
        start = time.perf_counter()
        try:
            connection.request(scenario.method, scenario.path, body, headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            statuses["exception"] += 1
            connection.close()
            continue
        latencies.append((time.perf_counter() - start) * 1000.0)
        received += len(data)
        statuses[str(response.status)] += 1
        if response.status not in expect:
            errors += 1
    connection.close()
    out.append(_Partial(latencies, statuses, errors, received))


def _run_clients(
    host: str,
    port: int,
    scenario: Scenario,
    clients: int,
    deadline: float,
    tickets: _Tickets,
    tag: str,
) -> _Partial:
    out: list[_Partial] = []
    workers = [
        threading.Thread(
            target=_client_loop,
            args=(host, port, scenario, deadline, tickets, f"{tag}.{index}", out),
            daemon=True,
        )
        for index in range(clients)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()) + 60)
    merged = _Partial([], Counter(), 0, 0)
    for part in out:
        merged.latencies.extend(part.latencies)
        merged.statuses.update(part.statuses)
        merged.errors += part.errors
        merged.bytes_received += part.bytes_received
    return merged


def _process_main(
    sender: Any,
    host: str,
    port: int,
    scenario: Scenario,
    clients: int,
    seconds: float,
    tag: str,
    shared: Any,
) -> None:
    """One client process: run its clients, send their measurements to the parent."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handlers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us on Ctrl-C
    deadline = time.monotonic() + seconds
    tickets = _Tickets(scenario.max_requests, shared)
    sender.send(_run_clients(host, port, scenario, clients, deadline, tickets, tag))
    sender.close()


def _run_processes(
    host: str, port: int, scenario: Scenario, processes: int, tag: str
) -> tuple[list[_Partial], float]:
    """Spread the clients over ``processes`` forked processes; always reaps them."""
    context = multiprocessing.get_context("fork")
    shared = context.Value("q", 0)
    split = [scenario.concurrency // processes] * processes
    for index in range(scenario.concurrency % processes):
        split[index] += 1
    receivers = []
    children = []
    try:
        started = time.perf_counter()
        for index, clients in enumerate(split):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_process_main,
                args=(
                    sender,
                    host,
                    port,
                    scenario,
                    clients,
                    scenario.max_seconds,
                    f"{tag}.p{index}",
                    shared,
                ),
                daemon=True,
            )
            child.start()
            sender.close()
            receivers.append(receiver)
            children.append(child)
        limit = time.monotonic() + scenario.max_seconds + 120
        parts: list[_Partial] = []
        for receiver in receivers:
            if not receiver.poll(max(0.0, limit - time.monotonic())):
                raise TimeoutError("a load generator process did not report in time")
            parts.append(receiver.recv())
        elapsed = time.perf_counter() - started
    finally:
        for receiver in receivers:
            receiver.close()
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
                child.join(timeout=5)
    return parts, elapsed


def run_python(
    host: str, port: int, scenario: Scenario, *, processes: int = 1, tag: str = "py"
) -> Result:
    """Run ``scenario`` with Python clients (threads, spread over ``processes``)."""
    _check_host(host)
    processes = max(1, min(processes, scenario.concurrency))
    started = time.perf_counter()
    if processes == 1:
        deadline = time.monotonic() + scenario.max_seconds
        tickets = _Tickets(scenario.max_requests)
        merged = _run_clients(host, port, scenario, scenario.concurrency, deadline, tickets, tag)
        tool = "python-threads"
        elapsed = time.perf_counter() - started
    else:
        parts, elapsed = _run_processes(host, port, scenario, processes, tag)
        merged = _Partial([], Counter(), 0, 0)
        for part in parts:
            merged.latencies.extend(part.latencies)
            merged.statuses.update(part.statuses)
            merged.errors += part.errors
            merged.bytes_received += part.bytes_received
        tool = f"python-{processes}-processes"
    latencies = sorted(merged.latencies)
    done = len(latencies)
    return Result(
        scenario=scenario.name,
        tool=tool,
        concurrency=scenario.concurrency,
        requests=done,
        errors=merged.errors,
        seconds=elapsed,
        rps=done / elapsed if elapsed > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else 0.0,
        statuses=dict(sorted(merged.statuses.items())),
        bytes_received=merged.bytes_received,
    )


# wrk back end -------------------------------------------------------------------------


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return "not installed"
    completed = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    first = (completed.stdout or completed.stderr).strip().splitlines()
    return first[0] if first else "wrk"


def _lua_string(text: str) -> str:
    """``text`` as a Lua string literal (every byte outside plain ASCII escaped)."""
    out = ['"']
    for byte in text.encode():
        char = chr(byte)
        if byte < 128 and (char.isalnum() or char in " _-./:,;!?*()[]{}@#=+<>'|~^&$"):
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


_WRK_SCRIPT = """
-- generated by benchmarks/loadgen.py
local method = {method}
local path = {path}
local headers = {{{headers}}}
local template = {template}
local max_per_thread = {max_per_thread}
local seq_mark = {seq_mark}
local tag = {tag}
local stop_mark = {stop_mark}

local threads = {{}}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("tid", thread_count)
   table.insert(threads, thread)
end

local fixed = nil
counter = 0
responses = 0
stopped = false
statuses = {{}}

function init(args)
   if template == nil then
      fixed = wrk.format(method, path, headers, nil)
   end
end

function request()
   if fixed ~= nil then
      return fixed
   end
   counter = counter + 1
   local unique = tag .. "." .. tostring(tid) .. "-" .. tostring(counter)
   local body = (string.gsub(template, seq_mark, unique))
   return wrk.format(method, path, headers, body)
end

function response(status, hdrs, body)
   responses = responses + 1
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if responses >= max_per_thread and not stopped then
      stopped = true
      io.write(stop_mark .. "\\n")
      io.flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local merged = {{}}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for key, value in pairs(counts) do
         merged[key] = (merged[key] or 0) + value
      end
   end
   local parts = {{}}
   for key, value in pairs(merged) do
      table.insert(parts, string.format('"%s":%d', key, value))
   end
   local errors = summary.errors
   io.write(string.format(
      '{json_start}{{"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"p50_us":%d,"p99_us":%d,"max_us":%d,"statuses":{{%s}}}}\\n',
      summary.requests, summary.duration, summary.bytes,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout,
      latency:percentile(50.0), latency:percentile(99.0), latency.max,
      table.concat(parts, ",")))
end
"""


def _run_wrk_process(command: list[str], threads: int, timeout: float) -> tuple[int, str]:
    """Run wrk, and interrupt it as soon as every wrk thread has hit the request cap.

    wrk's main thread sleeps for the whole ``-d`` duration even when the Lua script has
    stopped every worker thread; SIGINT wakes it so that it reports at once, with the
    duration it really ran.
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    kept: list[str] = []
    stopped = 0
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(_STOPPED):
                stopped += 1
                if stopped >= threads and process.poll() is None:
                    process.send_signal(signal.SIGINT)
                continue
            kept.append(line)
        returncode = process.wait()
    finally:
        killer.cancel()
        if process.poll() is None:
            process.kill()
            process.wait()
    return returncode, "".join(kept)


def run_wrk(host: str, port: int, scenario: Scenario, *, tag: str = "wrk") -> Result:
    """Run ``scenario`` with wrk (one wrk thread drives all connections)."""
    _check_host(host)
    path = wrk_path()
    if path is None:
        raise RuntimeError("wrk is not installed")
    threads = 1
    headers = ",".join(
        f"[{_lua_string(name)}]={_lua_string(value)}" for name, value in scenario.headers
    )
    template = "nil" if scenario.body_template is None else _lua_string(scenario.body_template)
    script = _WRK_SCRIPT.format(
        method=_lua_string(scenario.method),
        path=_lua_string(scenario.path),
        headers=headers,
        template=template,
        max_per_thread=max(1, scenario.max_requests // threads),
        seq_mark=_lua_string(SEQ),
        tag=_lua_string(tag),
        json_start=_JSON_START,
        stop_mark=_lua_string(_STOPPED),
    )
    seconds = max(1, math.ceil(scenario.max_seconds))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        command = [
            path,
            f"-t{threads}",
            f"-c{scenario.concurrency}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            script_path,
            f"http://{host}:{port}/",
        ]
        returncode, output = _run_wrk_process(command, threads, seconds + 120)
    finally:
        os.unlink(script_path)
    lines = output.splitlines()
    line = next((item for item in lines if item.startswith(_JSON_START)), None)
    if returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({returncode}): {output.strip()}")
    data = json.loads(line[len(_JSON_START) :])
    statuses = {str(key): int(value) for key, value in sorted(data["statuses"].items())}
    requests = int(data["requests"])
    transport_errors = sum(int(data[key]) for key in ("connect", "read", "write", "timeout"))
    if transport_errors:
        statuses["transport-error"] = transport_errors
    unexpected = sum(
        count
        for code, count in statuses.items()
        if code.isdigit() and int(code) not in scenario.expect
    )
    seconds_taken = int(data["duration_us"]) / 1e6
    return Result(
        scenario=scenario.name,
        tool="wrk",
        concurrency=scenario.concurrency,
        requests=requests,
        errors=unexpected + transport_errors,
        seconds=seconds_taken,
        rps=requests / seconds_taken if seconds_taken > 0 else 0.0,
        p50_ms=int(data["p50_us"]) / 1000.0,
        p99_ms=int(data["p99_us"]) / 1000.0,
        max_ms=int(data["max_us"]) / 1000.0,
        statuses=statuses,
        bytes_received=int(data["bytes"]),
    )


def run(
    host: str, port: int, scenario: Scenario, *, tool: str, processes: int = 1, tag: str = "r"
) -> Result:
    """Run ``scenario`` with ``tool``: ``wrk``, ``python`` (threads) or ``python-processes``."""
    if tool == "wrk":
        return run_wrk(host, port, scenario, tag=tag)
    if tool == "python-processes":
        return run_python(host, port, scenario, processes=max(2, processes), tag=tag)
    return run_python(host, port, scenario, processes=1, tag=tag)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send GET requests to a loopback URL.")
    parser.add_argument("url", help="for example http://127.0.0.1:8000/healthz")
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("-n", "--max-requests", type=int, default=10_000)
    parser.add_argument("-d", "--max-seconds", type=float, default=5.0)
    parser.add_argument("--tool", choices=("wrk", "python", "python-processes"), default="python")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    scenario = Scenario(
        name=path,
        path=path,
        concurrency=args.concurrency,
        max_requests=args.max_requests,
        max_seconds=args.max_seconds,
    )
    result = run(host, port, scenario, tool=args.tool, processes=args.processes)
    print(json.dumps(result.as_dict(), indent=2))
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
