"""How long the widget's JavaScript takes to render a 1,000-comment thread in Chromium.

Usage::

    python benchmarks/bench_widget.py [--runs N] [--comments N] [--strict]

What it does:

1. seeds a thread of 1,000 comments (30% of them replies to a random earlier comment,
   so some go deeper than the display cap) through debatebox's posting service, into a
   temporary SQLite database, with the same ~200-character Markdown bodies as
   ``bench_api.py``;
2. serves the standalone comment server and a small host site on two free loopback
   ports (two origins, as on a real site), each with werkzeug in a thread;
3. opens the host page in Debian's Chromium (Playwright) once to warm up and then
   ``--runs`` times, each in a fresh browser context (empty cache: a first visit), left
   alone for ``--settle`` seconds first (see ``SETTLE_S``: Chromium's own start-up work
   in a new context would otherwise compete with the page for the cores), with
   the whole thread on one page (``data-debatebox-page-size="1000"``). A few lines of the
   host page's own script watch for the element of the last comment and log a line to
   the console when it exists; nothing else runs script in the page while it is measured
   (no Playwright polling). After each run all 1,000 comment elements are counted;
4. records a Chromium trace of each run (``devtools.timeline``) and sums, on the
   renderer's main thread, the **scripting** time as the DevTools Performance panel
   counts it: evaluating ``embed.js``, every function call, timer, event and promise
   continuation (where most of the widget runs, after ``await fetch``), garbage
   collection, minus the style recalculation and layout that script forced, which are
   reported as **rendering** with the rest of style, layout and paint. The host page's
   watcher is left out. The same spans are also summed in the main thread's CPU time
   (the trace's thread clock): printed beside it, not judged, it leaves out the time the
   thread waited for a core, so it is the figure to compare between versions of the
   widget on a busy machine. The Chrome DevTools Protocol ``Performance.getMetrics``
   ``ScriptDuration`` is printed beside it, but not judged: it does not count promise
   continuations (microtasks), so it misses the widget's rendering almost entirely.
   ``performance.measure`` entries whose name starts with ``debatebox`` are printed
   when the widget records any;
5. prints min/median/max of each figure over the runs, PASS/FAIL for the target (median
   scripting < 100 ms), and the size of ``embed.js`` gzipped at level 9.

Every request goes to 127.0.0.1; the servers and the browser are stopped before it exits.
The target is reported, not enforced, unless ``--strict`` is given (exit status 1 on
FAIL). An incomplete render or a script error in the page is exit status 2.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_api import markdown_body
from flask import Flask, abort
from werkzeug.serving import BaseWSGIServer, make_server

HOST = "127.0.0.1"
CHROMIUM = os.environ.get("DEBATEBOX_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
THREAD_KEY = "bench/widget-1000"
REPLY_SHARE = 0.3
NAMES = ("Marta", "Jonas", "Priya", "Tom", "Ana", "Kenji", "Olga", "Samir", "Lea", "Noor")
#: Target: the widget's scripting time to show the thread, median of the runs.
SCRIPT_LIMIT_MS = 100.0
MAX_RUNS = 25
#: Seconds a new browser context is left alone before the page opens. A new context makes
#: Chromium start work of its own (a renderer of its built-in pages loads its modules,
#: the browser process sets the context up) for about a second; on two cores that work
#: takes the core the page's main thread would use, and the wait shows up as the widget's
#: scripting time. A reader's browser is already running when a page opens.
SETTLE_S = 2.0
#: Seconds one page may take to show the whole thread.
RUN_TIMEOUT_S = 60.0
RENDERED = "debatebox-bench: rendered"
#: ``v8.execute`` brings the RunMicrotasks events: without them promise continuations,
#: where the widget renders, would be missing from the trace.
TRACE_CATEGORIES = ["devtools.timeline", "v8.execute", "blink.user_timing"]

#: Main-thread trace events of the DevTools "Scripting" category.
SCRIPT_EVENTS = frozenset(
    {
        "EvaluateScript",
        "FunctionCall",
        "RunMicrotasks",
        "TimerFire",
        "EventDispatch",
        "FireAnimationFrame",
        "FireIdleCallback",
        "XHRReadyStateChange",
        "XHRLoad",
        "v8.compile",
        "v8.compileModule",
        "v8.evaluateModule",
        "v8.produceCache",
        "MinorGC",
        "MajorGC",
    }
)
#: Main-thread trace events of the DevTools "Rendering" and "Painting" categories.
RENDER_EVENTS = frozenset(
    {
        "UpdateLayoutTree",
        "Layout",
        "PrePaint",
        "Paint",
        "Layerize",
        "Commit",
        "UpdateLayer",
        "HitTest",
        "ParseAuthorStyleSheet",
        "IntersectionObserverController::computeIntersections",
    }
)

FIGURES = {
    "scripting": "scripting (trace)",
    "cpu": "  the same in main-thread CPU time",
    "evaluate": "  of which evaluating embed.js",
    "longest": "  longest single script task",
    "rendering": "style, layout and paint (trace)",
    "ScriptDuration": "ScriptDuration (CDP, no microtasks)",
    "wall": "page opened to thread shown",
}


class ServerThread:
    """A WSGI app served on a free loopback port by a background thread."""

    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True)
        self.origin = f"http://{HOST}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# Seeding and serving ----------------------------------------------------------------------


def seed(app: Flask, size: int, rng: random.Random) -> int:
    """Store ``size`` comments in one thread through the posting service; return the last id."""
    from debatebox import comments
    from debatebox.web import get_state, session

    reply_count = round(size * REPLY_SHARE)
    kinds = [True] * reply_count + [False] * (size - reply_count)
    rng.shuffle(kinds)
    if kinds[0]:  # the first comment has nothing to answer
        kinds[kinds.index(False)] = True
        kinds[0] = False
    client = comments.Client(trusted=True)
    ids: list[int] = []
    with app.test_request_context():
        state = get_state()
        db = session()
        for serial, is_reply in enumerate(kinds, start=1):
            name = rng.choice(NAMES)
            data: dict[str, Any] = {
                "thread": THREAD_KEY,
                "title": "Widget benchmark",
                "name": name,
                "email": f"{name.lower()}{serial % 7}@example.org",
                "body": markdown_body(rng, serial),
            }
            if rng.random() < 0.3:
                data["website"] = f"https://{name.lower()}.example.net/"
            if is_reply:
                data["parent"] = rng.choice(ids)
            ids.append(comments.post(state, db, data, client).comment.id)
    return ids[-1]


def host_app(pages: dict[str, str]) -> Flask:
    """The host site: serves ``pages[path]``."""
    app = Flask("bench-host")

    @app.get("/<path:path>")
    def serve(path: str) -> str:
        if path not in pages:
            abort(404)
        return pages[path]

    return app


def host_page(prefix: str, last_id: int) -> str:
    """The article page; its inline script logs RENDERED once the last comment exists."""
    watcher = (
        "(function () {"
        '  var host = document.querySelector("[data-debatebox-thread]");'
        "  (function check() {"
        f'    if (host.shadowRoot && host.shadowRoot.getElementById("comment-{last_id}"))'
        f"      console.log({json.dumps(RENDERED)});"
        "    else setTimeout(check, 5);"
        "  })();"
        "})();"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Widget benchmark</title></head><body><main><h1>A long debate</h1>"
        f'<div data-debatebox-thread="{THREAD_KEY}" data-debatebox-page-size="1000"></div>'
        f'</main><script src="{prefix}/embed.js" defer></script>'
        f"<script>{watcher}</script></body></html>"
    )


@contextmanager
def servers(workdir: Path, size: int, rng: random.Random) -> Iterator[tuple[str, str, int]]:
    """The seeded comment server and the host site: (page URL, widget prefix, last id)."""
    from debatebox.standalone import create_app

    pages: dict[str, str] = {}
    host = ServerThread(host_app(pages))
    comments: ServerThread | None = None
    app: Flask | None = None
    try:
        app = create_app(
            {
                "SECRET_KEY": "bench-widget",
                "DEBATEBOX_DATABASE_URL": f"sqlite:///{workdir / 'comments.sqlite3'}",
                "DEBATEBOX_ORIGINS": host.origin,
                "DEBATEBOX_RATE_LIMIT": "",
                "DEBATEBOX_EMAIL_RATE_LIMIT": "",
                "DEBATEBOX_SPAM_CHECKS": False,
                "DEBATEBOX_DUPLICATE_WINDOW": 0,
                "DEBATEBOX_MIN_FILL_SECONDS": 0,
            },
            instance_path=str(workdir / "instance"),
        )
        started = time.perf_counter()
        last_id = seed(app, size, rng)
        print(f"seeded {size:,} comments in {time.perf_counter() - started:.1f} s")
        comments = ServerThread(app)
        prefix = f"{comments.origin}/debatebox"
        pages["article"] = host_page(prefix, last_id)
        yield f"{host.origin}/article", prefix, last_id
    finally:
        host.stop()
        if comments is not None:
            comments.stop()
        if app is not None:
            app.extensions["debatebox"].engine.dispose()


# Reading a trace --------------------------------------------------------------------------


@dataclass
class Span:
    name: str
    start: float  # microseconds
    end: float
    url: str
    cpu: float = 0.0  # microseconds of the thread's CPU time, when the trace has them


def main_thread_spans(events: Iterable[dict[str, Any]]) -> list[list[Span]]:
    """The complete events of every renderer main thread, one list per thread."""
    events = list(events)
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e.get("args", {}).get("name") == "CrRendererMain"
    }
    threads: dict[tuple[int, int], list[Span]] = {key: [] for key in mains}
    open_spans: dict[tuple[int, int, str], list[dict[str, Any]]] = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key not in threads:
            continue
        data = (e.get("args") or {}).get("data") or {}
        url = (data.get("url") or "") if isinstance(data, dict) else ""
        phase = e.get("ph")
        if phase == "X":
            start = float(e["ts"])
            cpu = float(e.get("tdur", 0))
            threads[key].append(Span(e["name"], start, start + float(e.get("dur", 0)), url, cpu))
        elif phase in ("B", "E"):
            pending = open_spans.setdefault((key[0], key[1], e["name"]), [])
            if phase == "B":
                pending.append(e)
                continue
            if not pending:
                continue
            begin = pending.pop()
            begun = (begin.get("args") or {}).get("data") or {}
            url = url or ((begun.get("url") or "") if isinstance(begun, dict) else "")
            cpu = float(e.get("tts", 0)) - float(begin.get("tts", 0)) if "tts" in begin else 0.0
            threads[key].append(Span(e["name"], float(begin["ts"]), float(e["ts"]), url, cpu))
    for spans in threads.values():
        spans.sort(key=lambda s: (s.start, -s.end))
    return list(threads.values())


def outermost(spans: list[Span], names: frozenset[str]) -> list[Span]:
    """Spans named in ``names`` that are not inside another such span (sorted input)."""
    found: list[Span] = []
    for span in spans:
        if span.name in names and not (found and span.start < found[-1].end):
            found.append(span)
    return found


def scripting(trace: bytes, page_url: str) -> dict[str, float]:
    """Scripting, rendering and the longest script task (ms) of a trace, as DevTools counts.

    Only the renderer that shows the host page counts, and the script spans of the page's
    own watcher (a timer calling a function of the page's URL) are left out. ``cpu`` is
    scripting again in the thread's CPU time.
    """
    loaded = json.loads(trace)
    events = loaded["traceEvents"] if isinstance(loaded, dict) else loaded
    origin = page_url.split("/", 3)[:3]
    script = render = evaluate = longest = cpu = 0.0
    for spans in main_thread_spans(events):
        if not any(s.url.split("/", 3)[:3] == origin for s in spans):
            continue  # another renderer: the blank first page, Chromium's own pages
        renders = outermost(spans, RENDER_EVENTS)
        for top in outermost(spans, SCRIPT_EVENTS):
            inner = [s for s in spans if top.start <= s.start and s.end <= top.end]
            if any(s.url == page_url for s in inner if s.name in SCRIPT_EVENTS):
                continue  # the watcher
            inside = [s for s in renders if top.start <= s.start and s.end <= top.end]
            own = top.end - top.start - sum(s.end - s.start for s in inside)
            script += own
            cpu += top.cpu - sum(s.cpu for s in inside)
            longest = max(longest, own)
            if top.name == "EvaluateScript" and top.url.endswith("/embed.js"):
                evaluate += own
        render += sum(s.end - s.start for s in renders)
    return {
        "scripting": script / 1000,
        "cpu": cpu / 1000,
        "evaluate": evaluate / 1000,
        "longest": longest / 1000,
        "rendering": render / 1000,
    }


# One page load ----------------------------------------------------------------------------

CHECK = """(host) => ({
  rendered: host.shadowRoot.querySelectorAll("li[id^='comment-']").length,
  measures: performance.getEntriesByType("measure")
    .filter((m) => m.name.startsWith("debatebox"))
    .map((m) => [m.name, m.duration]),
})"""


def one_run(browser: Any, url: str, size: int, settle: float) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        time.sleep(settle)
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        started = time.perf_counter()
        try:
            with page.expect_console_message(
                lambda message: message.text == RENDERED, timeout=RUN_TIMEOUT_S * 1000
            ):
                page.goto(url, wait_until="commit", timeout=RUN_TIMEOUT_S * 1000)
            wall = (time.perf_counter() - started) * 1000
        finally:
            trace = browser.stop_tracing()
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        done = page.locator("[data-debatebox-thread]").evaluate(CHECK)
        if errors:
            raise RuntimeError(f"script errors on the page: {errors}")
        if done["rendered"] != size:
            raise RuntimeError(f"rendered {done['rendered']} of {size} comments")
        figures = scripting(trace, url)
        figures["ScriptDuration"] = float(metrics.get("ScriptDuration", 0.0)) * 1000
        figures["wall"] = wall
        for name, duration in done["measures"]:
            figures[f"measure {name}"] = float(duration)
        return figures
    finally:
        context.close()


def gzipped_size(prefix: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"{prefix}/embed.js", timeout=10) as answer:
        data = answer.read()
    return len(data), len(gzip.compress(data, compresslevel=9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help=f"measured page loads (1-{MAX_RUNS})")
    parser.add_argument("--comments", type=int, default=1000, help="size of the thread")
    parser.add_argument("--seed", type=int, default=1, help="seed of bodies and reply targets")
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE_S,
        help=f"seconds a new browser context gets before the page opens (default {SETTLE_S})",
    )
    parser.add_argument("--strict", action="store_true", help="exit status 1 when a target fails")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs must be 1 to {MAX_RUNS}")
    if not 0 <= args.settle <= 10:
        parser.error("--settle must be 0 to 10 seconds")
    if not 2 <= args.comments <= 1000:
        parser.error("--comments must be 2 to 1000 (one page of the API)")

    import logging

    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    rng = random.Random(args.seed)
    results: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="debatebox-bench-widget-") as folder,
        servers(Path(folder), args.comments, rng) as (url, prefix, _last_id),
        sync_playwright() as playwright,
    ):
        raw, packed = gzipped_size(prefix)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            one_run(browser, url, args.comments, args.settle)  # warm-up: not counted
            for run in range(1, args.runs + 1):
                figures = one_run(browser, url, args.comments, args.settle)
                results.append(figures)
                print(
                    f"run {run}: scripting {figures['scripting']:.1f} ms "
                    f"(CPU {figures['cpu']:.1f}, longest task {figures['longest']:.1f}), "
                    f"rendering {figures['rendering']:.1f} ms, "
                    f"shown after {figures['wall']:.0f} ms"
                )
        except (RuntimeError, PlaywrightError) as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 2
        finally:
            browser.close()

    print()
    print(f"{args.comments:,}-comment thread, {args.runs} runs, fresh context each (ms):")
    print(f"  {'':<38} {'min':>8} {'median':>8} {'max':>8}")
    extra = sorted({name for r in results for name in r if name.startswith("measure ")})
    for name in [*FIGURES, *extra]:
        values = [r[name] for r in results if name in r]
        if values:
            label = FIGURES.get(name, name)
            print(
                f"  {label:<38} {min(values):>8.1f} {statistics.median(values):>8.1f} "
                f"{max(values):>8.1f}"
            )
    median = statistics.median(r["scripting"] for r in results)
    passed = median < SCRIPT_LIMIT_MS
    print(
        f"\n{'PASS' if passed else 'FAIL'}: median scripting {median:.1f} ms to render "
        f"{args.comments:,} comments (target < {SCRIPT_LIMIT_MS:.0f} ms)"
    )
    print(f"embed.js: {raw:,} bytes, {packed:,} bytes gzipped (level 9)")
    return 0 if passed or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
