"""The admin pages (``/debatebox/admin/``): access, login, CSRF, the queue, a comment's page,
bans, thread settings, the audit log, headers and escaping, on the three databases."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.security import check_password_hash

from debatebox import DebateBox, admins, bans, ratelimit
from debatebox.admin_access import accounts
from debatebox.cli import main as cli_main
from debatebox.errors import Conflict, ValidationError
from debatebox.models import Admin, AuditEntry, Ban, Comment, Report, Thread
from debatebox.standalone import create_app
from support import BASE_CONFIG, Api, count_queries, snapshot

ADMIN = "/debatebox/admin"
PASSWORD = "correct horse battery"
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)
HOSTILE_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_BODY = "<script>alert('body')</script> and <img src=x onerror=alert(2)>"


def header_check() -> str | None:
    """A host's admin check: here, who the request says it is (a test stand-in)."""
    return request.headers.get("X-Moderator")


# Fixtures -----------------------------------------------------------------------------


@pytest.fixture
def make_host(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """A host application on the test database with an admin check of its own."""

    def factory(check: Any = header_check, **config: Any) -> Flask:
        return make_app(admin_check=check, **{"DEBATEBOX_MODERATION": "all", **config})

    return factory


@pytest.fixture
def host(make_host: Callable[..., Flask]) -> Flask:
    return make_host()


@pytest.fixture
def mod(host: Flask) -> FlaskClient:
    """A moderator's browser on the host application."""
    client = host.test_client()
    client.environ_base["HTTP_X_MODERATOR"] = "Mo"
    return client


@pytest.fixture
def make_standalone(db_url: str, tmp_path: Any, made_apps: list[Flask]) -> Callable[..., Flask]:
    def factory(**config: Any) -> Flask:
        settings = {
            **BASE_CONFIG,
            "DEBATEBOX_DATABASE_URL": db_url,
            "DEBATEBOX_MODERATION": "all",
            "SESSION_COOKIE_SECURE": False,
            **config,
        }
        n = len(made_apps)
        app = create_app(settings, instance_path=str(tmp_path / f"standalone{n}"))
        made_apps.append(app)
        return app

    return factory


@pytest.fixture
def standalone(make_standalone: Callable[..., Flask]) -> Flask:
    app = make_standalone()
    with app.extensions["debatebox"].new_session() as session:
        admins.create(session, "editor", PASSWORD)
    return app


# Helpers ------------------------------------------------------------------------------


def csrf(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def token(client: FlaskClient) -> str:
    return csrf(client.get(f"{ADMIN}/"))


def login(client: FlaskClient, username: str = "editor", password: str = PASSWORD) -> Any:
    page = client.get(f"{ADMIN}/login")
    return client.post(
        f"{ADMIN}/login",
        data={"csrf_token": csrf(page), "username": username, "password": password},
    )


def held(app: Flask, count: int = 1, **fields: Any) -> list[int]:
    """Post comments through the API (the app holds every comment); their ids."""
    api = Api(app.test_client())
    ids = []
    for number in range(count):
        fields.setdefault("body", "A held comment.")
        answer = api.post(**{**fields, "body": f"{fields['body']} {number}"})
        assert answer.status_code == 202, answer.get_json()
        ids.append(int(answer.get_json()["comment"]["id"]))
    return ids


def state_of(app: Flask) -> Any:
    return app.extensions["debatebox"]


def update(app: Flask, comment_id: int, **values: Any) -> None:
    with state_of(app).new_session() as session, session.begin():
        session.execute(sa.update(Comment).where(Comment.id == comment_id).values(**values))


def report(app: Flask, comment_id: int, *reasons: str) -> None:
    with state_of(app).new_session() as session, session.begin():
        for number, reason in enumerate(reasons):
            session.add(Report(comment_id=comment_id, reason=reason, reporter=f"r{number}"))
        session.execute(
            sa.update(Comment).where(Comment.id == comment_id).values(report_count=len(reasons))
        )


def statuses(app: Flask) -> dict[int, str]:
    with state_of(app).new_session() as session:
        return {row[0]: row[1] for row in session.execute(sa.select(Comment.id, Comment.status))}


def audit(app: Flask) -> list[tuple[str, str, int | None, int | None, str]]:
    with state_of(app).new_session() as session:
        rows = session.execute(
            sa.select(
                AuditEntry.moderator,
                AuditEntry.action,
                AuditEntry.comment_id,
                AuditEntry.thread_id,
                AuditEntry.detail,
            ).order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def listed(client: FlaskClient, **params: Any) -> list[int]:
    """The comment ids on a queue page, in order."""
    page = client.get(f"{ADMIN}/", query_string=params)
    assert page.status_code == 200
    return [
        int(i) for i in re.findall(r'name="comment" value="(\d+)"', page.get_data(as_text=True))
    ]


def admin_urls(app: Flask) -> list[tuple[str, str]]:
    """(method, URL) of every admin route, ids filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("debatebox_admin."):
            continue
        url = re.sub(r"<int[^>]*>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, url))
    return found


# Access -------------------------------------------------------------------------------


@pytest.mark.parametrize("setup", ["no check", "check says no", "logged out"])
def test_every_admin_url_answers_403_without_access(
    setup: str,
    app: Flask,
    make_host: Callable[..., Flask],
    standalone: Flask,
) -> None:
    target = {
        "no check": app,
        "check says no": make_host(check=lambda: None),
        "logged out": standalone,
    }[setup]
    Api(target.test_client()).post()  # held or published: either way, not for strangers
    client = target.test_client()
    client.environ_base["HTTP_X_MODERATOR"] = "Mo"  # means something only to header_check
    urls = admin_urls(target)
    assert len(urls) >= 14
    before = snapshot(target)
    for method, url in urls:
        if setup == "logged out" and url.endswith("/login"):
            continue
        data = {"action": "approve", "comment": "1", "kind": "email", "value": "a@b.org"}
        answer = client.open(url, method=method, data=data if method == "POST" else None)
        assert answer.status_code == 403, (method, url)
        assert answer.mimetype == "text/html"
        assert "Forbidden" in answer.get_data(as_text=True)
        assert answer.headers["Content-Security-Policy"] == CSP
    assert snapshot(target) == before


def test_login_page_of_an_app_without_accounts_is_403(host: Flask) -> None:
    assert host.test_client().get(f"{ADMIN}/login").status_code == 403


def test_host_check_names_the_moderator(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    page = mod.get(f"{ADMIN}/")
    assert page.status_code == 200
    assert "Signed in as Mo" in page.get_data(as_text=True)
    assert "Log out" not in page.get_data(as_text=True)  # the host's login is its own
    mod.post(
        f"{ADMIN}/bulk",
        data={"csrf_token": csrf(page), "action": "approve", "comment": str(comment_id)},
    )
    assert audit(host) == [("Mo", "approve", comment_id, 1, "")]


def test_admin_check_as_decorator_and_init_app_argument(db_url: str, tmp_path: Any) -> None:
    box = DebateBox()

    @box.admin_check
    def everyone_is_ann() -> str:
        return "Ann"

    first, second = (Flask(f"a{n}", instance_path=str(tmp_path / f"i{n}")) for n in (1, 2))
    for app in (first, second):
        app.config.update(BASE_CONFIG, DEBATEBOX_DATABASE_URL=db_url)
    box.init_app(first)
    box.init_app(second, admin_check=lambda: None)
    try:
        assert "Signed in as Ann" in first.test_client().get(f"{ADMIN}/").get_data(as_text=True)
        assert second.test_client().get(f"{ADMIN}/").status_code == 403
    finally:
        for app in (first, second):
            state_of(app).engine.dispose()


# Built-in accounts --------------------------------------------------------------------


def test_login_and_logout(standalone: Flask) -> None:
    client = standalone.test_client()
    assert client.get(f"{ADMIN}/").status_code == 403
    assert 'href="/debatebox/admin/login"' in client.get(f"{ADMIN}/").get_data(as_text=True)
    wrong = login(client, password="wrong password!")
    assert wrong.status_code == 401
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    assert client.get(f"{ADMIN}/").status_code == 403
    assert login(client, username="nobody").status_code == 401
    with state_of(standalone).new_session() as session:
        assert session.scalar(sa.select(Admin.last_login_at)) is None

    done = login(client)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{ADMIN}/")
    queue = client.get(f"{ADMIN}/")
    assert queue.status_code == 200 and "Signed in as editor" in queue.get_data(as_text=True)
    assert client.get(f"{ADMIN}/login").status_code == 303  # already logged in
    with state_of(standalone).new_session() as session:
        last = session.scalar(sa.select(Admin.last_login_at))
    assert last is not None and abs(last - dt.datetime.utcnow()) < dt.timedelta(minutes=1)

    assert client.post(f"{ADMIN}/logout").status_code == 400  # CSRF first
    assert client.get(f"{ADMIN}/").status_code == 200
    out = client.post(f"{ADMIN}/logout", data={"csrf_token": csrf(queue)})
    assert out.status_code == 303 and out.headers["Location"].endswith(f"{ADMIN}/login")
    assert client.get(f"{ADMIN}/").status_code == 403


def test_login_needs_csrf(standalone: Flask) -> None:
    client = standalone.test_client()
    answer = client.post(f"{ADMIN}/login", data={"username": "editor", "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get(f"{ADMIN}/").status_code == 403


def test_login_is_rate_limited_per_address(standalone: Flask) -> None:
    client = standalone.test_client()
    for _ in range(ratelimit.LoginLimiter("memory://").item.amount):
        assert login(client, password="guess guess guess").status_code == 401
    limited = login(client)  # the right password, refused while limited
    assert limited.status_code == 429
    assert "Too many failed logins" in limited.get_data(as_text=True)
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get(f"{ADMIN}/").status_code == 403
    other = standalone.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert login(other).status_code == 303


def test_login_cookie_is_secure_httponly_and_lax(db_url: str, tmp_path: Any) -> None:
    app = create_app(
        {**BASE_CONFIG, "DEBATEBOX_DATABASE_URL": db_url}, instance_path=str(tmp_path / "i")
    )
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True  # the standalone server's default
        with state_of(app).new_session() as session:
            admins.create(session, "editor", PASSWORD)
        client = app.test_client()
        page = client.get(f"{ADMIN}/login", base_url="https://comments.test")
        answer = client.post(
            f"{ADMIN}/login",
            data={"csrf_token": csrf(page), "username": "editor", "password": PASSWORD},
            base_url="https://comments.test",
        )
        assert answer.status_code == 303
        cookie = answer.headers["Set-Cookie"]
        assert "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        state_of(app).engine.dispose()


def test_password_hashes_are_salted(standalone: Flask) -> None:
    with state_of(standalone).new_session() as session:
        admins.create(session, "second", PASSWORD)
        hashes = session.scalars(sa.select(Admin.password_hash)).all()
        assert len(set(hashes)) == 2
        assert all(PASSWORD not in h and check_password_hash(h, PASSWORD) for h in hashes)
        with pytest.raises(Conflict):
            admins.create(session, "second", "another password")
        with pytest.raises(ValidationError):
            admins.create(session, "third", "short")
        with pytest.raises(ValidationError):
            admins.create(session, "bad name!", PASSWORD)


def test_create_admin_commands(
    db_url: str, standalone: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEBATEBOX_INSTANCE_PATH", str(tmp_path / "cli"))
    runner = CliRunner()
    args = ["create-admin", "stdin", "--database-url", db_url, "--password-stdin"]
    done = runner.invoke(cli_main, args, input=f"{PASSWORD}\n")
    assert done.exit_code == 0, done.output
    assert "administrator 'stdin' created" in done.output
    typed = runner.invoke(
        cli_main, ["create-admin", "typed", "--database-url", db_url], input="pass word 1\n" * 2
    )
    assert typed.exit_code == 0, typed.output
    mismatch = runner.invoke(
        cli_main, ["create-admin", "x", "--database-url", db_url], input="pass word 1\nother\n"
    )
    assert mismatch.exit_code != 0
    again = runner.invoke(cli_main, args, input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "already" in again.output
    short = runner.invoke(cli_main, [*args[:-1], "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least" in short.output
    flask_cli = standalone.test_cli_runner()
    done = flask_cli.invoke(
        args=["debatebox", "create-admin", "flask", "--password-stdin"], input="flask password\n"
    )
    assert done.exit_code == 0, done.output
    with state_of(standalone).new_session() as session:
        names = set(session.scalars(sa.select(Admin.username)))
    assert names == {"editor", "stdin", "typed", "flask"}
    for name, password in [
        ("stdin", PASSWORD),
        ("typed", "pass word 1"),
        ("flask", "flask password"),
    ]:
        assert login(standalone.test_client(), name, password).status_code == 303, name


def test_a_host_can_use_the_built_in_accounts(make_host: Callable[..., Flask]) -> None:
    app = make_host(check=accounts)
    with state_of(app).new_session() as session:
        admins.create(session, "editor", PASSWORD)
    client = app.test_client()
    assert client.get(f"{ADMIN}/").status_code == 403
    assert login(client).status_code == 303
    assert client.get(f"{ADMIN}/").status_code == 200


# CSRF, headers, escaping --------------------------------------------------------------


def test_every_post_needs_a_csrf_token(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    with state_of(host).new_session() as session:
        ban = bans.add(session, kind="email", value="x@example.org", by="Mo")
    before = snapshot(host)
    posts = [(m, u) for m, u in admin_urls(host) if m == "POST"]
    assert len(posts) >= 7
    for _method, url in posts:
        url = url.replace("/1", f"/{comment_id}").replace("bans/1", f"bans/{ban.id}")
        data = {
            "action": "approve",
            "comment": str(comment_id),
            "kind": "email",
            "value": "y@example.org",
            "title": "New",
            "closed": "1",
        }
        for form in (data, {**data, "csrf_token": "forged"}):
            answer = mod.post(url, data=form)
            assert answer.status_code == 400, url
            assert "The form expired" in answer.get_data(as_text=True)
    assert snapshot(host) == before


def test_security_headers_on_every_page(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    pages = ["/", "/?tab=spam", f"/comments/{comment_id}", "/bans", "/threads", "/threads/1"]
    for path in [*pages, "/audit", "/comments/999999"]:
        answer = mod.get(f"{ADMIN}{path}")
        assert answer.status_code == (404 if "999999" in path else 200), path
        assert answer.headers["Content-Security-Policy"] == CSP
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["Cache-Control"] == "no-store"
        assert "<script" not in answer.get_data(as_text=True)


def test_hostile_text_is_escaped_on_every_page(make_host: Callable[..., Flask]) -> None:
    app = make_host(check=lambda: HOSTILE_NAME)
    client = app.test_client()
    [first, second] = held(
        app, 2, name=HOSTILE_NAME, body=HOSTILE_BODY, website='https://example.org/"><b>x'
    )
    update(
        app,
        first,
        verdicts=json.dumps([{"action": "hold", "check": "<script>", "reason": HOSTILE_NAME}]),
    )
    update(app, second, verdicts="<script>alert(3)</script>")
    report(app, first, "<script>")
    with state_of(app).new_session() as session:
        bans.add(
            session, kind="email", value="ann@example.org", reason=HOSTILE_NAME, by=HOSTILE_NAME
        )
        admins.save_thread(
            session, 1, admins.ThreadSettings(HOSTILE_BODY, None, False), by=HOSTILE_NAME
        )
    pages = [
        "/",
        "/?tab=reported",
        f"/?thread={HOSTILE_NAME}&q={HOSTILE_BODY}&email={HOSTILE_NAME}",
        f"/comments/{first}",
        f"/comments/{second}",
        "/bans",
        "/threads",
        f"/threads?q={HOSTILE_NAME}",
        "/threads/1",
        "/audit",
    ]
    for path in pages:
        text = client.get(f"{ADMIN}{path}").get_data(as_text=True)
        assert "<script" not in text and "<img" not in text and "<b>" not in text, path
    detail = client.get(f"{ADMIN}/comments/{first}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in detail  # the source, as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in detail


# The queue ----------------------------------------------------------------------------


def seed_states(app: Flask) -> dict[str, int]:
    ids = dict(
        zip(
            [
                "pending",
                "approved",
                "spam",
                "deleted",
                "reported",
                "reported_deleted",
                "held_reported",
            ],
            held(app, 7),
            strict=True,
        )
    )
    state = state_of(app)
    from debatebox.decisions import decide

    with state.new_session() as session:
        for name, action in [
            ("approved", "approve"),
            ("spam", "spam"),
            ("deleted", "reject"),
            ("reported", "approve"),
            ("reported_deleted", "delete"),
        ]:
            decide(state, session, ids[name], action, by="setup")
    for name in ("reported", "reported_deleted", "held_reported"):
        report(app, ids[name], "abuse")
    return ids


def test_each_tab_lists_its_comments(host: Flask, mod: FlaskClient) -> None:
    ids = seed_states(host)
    newest_first = sorted(ids.values(), reverse=True)

    def expect(*names: str) -> list[int]:
        return [i for i in newest_first if i in {ids[n] for n in names}]

    assert listed(mod) == expect("pending", "held_reported")
    assert listed(mod, tab="held") == expect("pending", "held_reported")
    assert listed(mod, tab="reported") == expect("reported", "held_reported")
    assert listed(mod, tab="spam") == expect("spam")
    assert listed(mod, tab="published") == expect("approved", "reported")
    assert listed(mod, tab="deleted") == expect("deleted", "reported_deleted")
    page = mod.get(f"{ADMIN}/").get_data(as_text=True)
    assert "Held (2)" in page and "Reported (2)" in page and "Spam (1)" in page


def test_filters(host: Flask, mod: FlaskClient) -> None:
    a = held(host, 2, thread="/one", body="About 100% Trains", email="Kim@Example.org")
    b = held(host, 2, thread="/two", body="about buses", email="lee@example.org")
    assert listed(mod, thread="/one") == a[::-1]
    assert listed(mod, thread="/nothing") == []
    assert listed(mod, q="TRAINS") == a[::-1]
    assert listed(mod, q="100%") == a[::-1]
    assert listed(mod, q="0% t") == a[::-1]
    assert listed(mod, q="%") == a[::-1]  # a literal percent sign, not a wildcard
    assert listed(mod, q="about") == (a + b)[::-1]
    assert listed(mod, email="KIM@example.org") == a[::-1]
    assert listed(mod, email="lee@example.org", thread="/one") == []
    assert listed(mod, email="lee@example.org", thread="/two", q="buses 1") == [b[1]]


def test_pages_of_the_queue_cover_every_comment_once(host: Flask, mod: FlaskClient) -> None:
    [first] = held(host)
    with state_of(host).new_session() as session, session.begin():
        template = session.get(Comment, first)
        assert template is not None
        same_time = template.created_at
        for number in range(120):
            session.add(
                Comment(
                    thread_id=template.thread_id,
                    author_name=f"Reader {number}",
                    email="many@example.org",
                    body_source=f"Bulk {number}",
                    body_html=f"<p>Bulk {number}</p>",
                    status="pending",
                    # Many share a timestamp: the id breaks ties.
                    created_at=same_time
                    if number % 3
                    else same_time + dt.timedelta(seconds=number),
                )
            )
    seen: list[int] = []
    params: dict[str, str] = {}
    for _ in range(10):
        page = mod.get(f"{ADMIN}/", query_string=params).get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'name="comment" value="(\d+)"', page)]
        found = re.search(r'href="[^"]*after=([\w.]+)[^"]*">Older comments', page)
        if not found:
            break
        params = {"after": found.group(1)}
    assert len(seen) == 121 and len(set(seen)) == 121
    for junk in ("not-a-cursor", "20250101000000000000.99999999999999999999", "1.2.3"):
        assert listed(mod, after=junk)[:1] == seen[:1]
    huge = "9" * 20  # beyond every database's integers: a page or a 404, never a 500
    for path, status in [
        (f"/comments/{huge}", 404),
        (f"/threads/{huge}", 404),
        (f"/audit?after={huge}", 200),
        (f"/bans?after={huge}", 200),
        (f"/threads?after={huge}", 200),
    ]:
        assert mod.get(f"{ADMIN}{path}").status_code == status, path
    page = mod.get(f"{ADMIN}/")
    answer = mod.post(
        f"{ADMIN}/bulk", data={"csrf_token": csrf(page), "action": "spam", "comment": huge}
    )
    assert "Tick at least one comment." in answer.get_data(as_text=True)


def test_the_queue_costs_a_fixed_number_of_queries(host: Flask, mod: FlaskClient) -> None:
    held(host, 3)
    engine = state_of(host).engine
    with count_queries(engine) as small:
        assert mod.get(f"{ADMIN}/").status_code == 200
    held(host, 60)
    report(host, 5, "spam")
    with count_queries(engine) as large:
        page = mod.get(f"{ADMIN}/?tab=reported&q=held&thread=/article&email=ann@example.org")
    assert page.status_code == 200
    assert len(small) == len(large) <= 3, large


def test_bulk_action_reports_what_was_done_and_refused(host: Flask, mod: FlaskClient) -> None:
    ids = held(host, 4)
    with state_of(host).new_session() as session:
        from debatebox.decisions import decide

        decide(state_of(host), session, ids[3], "reject", by="setup")
    page = mod.get(f"{ADMIN}/")
    answer = mod.post(
        f"{ADMIN}/bulk",
        data={
            "csrf_token": csrf(page),
            "action": "approve",
            "comment": [str(i) for i in ids] + ["999999", "junk"],
        },
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f"Approved 3 comments: #{ids[0]}, #{ids[1]}, #{ids[2]}." in text
    assert f"#{ids[3]} was not changed: This comment is deleted already" in text
    assert "#999999 was not changed: There is no such comment." in text
    assert {i: statuses(host)[i] for i in ids} == dict(
        zip(ids, ["approved", "approved", "approved", "deleted"], strict=True)
    )
    public = [c["id"] for c in Api(host.test_client()).thread().get_json()["comments"]]
    assert sorted(public) == ids[:3]
    assert [a[:3] for a in audit(host)] == [("setup", "reject", ids[3])] + [
        ("Mo", "approve", i) for i in ids[:3]
    ]
    spam = mod.post(
        f"{ADMIN}/bulk", data={"csrf_token": csrf(page), "action": "spam", "comment": [str(ids[0])]}
    )
    assert "Marked as spam 1 comment" in spam.get_data(as_text=True)
    none = mod.post(f"{ADMIN}/bulk", data={"csrf_token": csrf(page), "action": "approve"})
    assert "Tick at least one comment." in none.get_data(as_text=True)
    bad = mod.post(
        f"{ADMIN}/bulk", data={"csrf_token": csrf(page), "action": "explode", "comment": "1"}
    )
    assert bad.status_code == 400


# One comment --------------------------------------------------------------------------


def test_comment_page_shows_verdicts_reports_and_history(host: Flask, mod: FlaskClient) -> None:
    older = held(host, 3, email="kim@example.org", body="Earlier words")
    [other_author] = held(host, email="lee@example.org")
    [comment_id] = held(host, email="kim@example.org", website="https://kim.example.org")
    from debatebox.decisions import decide

    with state_of(host).new_session() as session:
        decide(state_of(host), session, older[0], "approve", by="setup")
        decide(state_of(host), session, older[1], "spam", by="setup")
    verdicts = [
        {"action": "hold", "check": "links", "reason": "5 links (at most 3)"},
        {"action": "reject", "check": "akismet", "reason": "Akismet: blatant spam"},
    ]
    update(host, comment_id, verdicts=json.dumps(verdicts))
    report(host, comment_id, "abuse", "off-topic")
    text = mod.get(f"{ADMIN}/comments/{comment_id}").get_data(as_text=True)
    for expected in (
        "kim@example.org",
        "https://kim.example.org",
        "127.0.0.0",
        "5 links (at most 3)",
        "Akismet: blatant spam",
        "abuse",
        "off-topic",
        "By this email: 1 approved, 2 pending, 1 spam.",
    ):
        assert expected in text, expected
    history = re.findall(r'<a href="/debatebox/admin/comments/(\d+)">#\d+</a> Earlier', text)
    assert [int(i) for i in history] == older[::-1]
    assert f"/comments/{other_author}" not in text
    assert "No verdicts were stored" in mod.get(f"{ADMIN}/comments/{older[0]}").get_data(
        as_text=True
    )


def test_deciding_from_the_comment_page(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    page = mod.get(f"{ADMIN}/comments/{comment_id}")
    assert ">Reject</button>" in page.get_data(as_text=True)
    done = mod.post(
        f"{ADMIN}/comments/{comment_id}/decide",
        data={"csrf_token": csrf(page), "action": "approve"},
    )
    assert done.status_code == 303
    after = mod.get(done.headers["Location"]).get_data(as_text=True)
    assert "The comment was approved" in after and ">Reject</button>" not in after
    again = mod.post(
        f"{ADMIN}/comments/{comment_id}/decide", data={"csrf_token": csrf(page), "action": "reject"}
    )
    assert again.status_code == 409 and "approved already" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("kind", "value", "caught", "spared"),
    [
        (
            "email",
            "ann@example.org",
            ("203.0.113.9", "ann@example.org"),
            ("1.2.3.4", "bo@example.org"),
        ),
        ("domain", "example.org", ("1.2.3.4", "bo@example.org"), ("1.2.3.4", "bo@example.com")),
        ("ip", "127.0.0.0/24", ("127.0.0.77", "x@y.org"), ("127.0.1.1", "x@y.org")),
    ],
)
def test_ban_from_the_comment_page(
    host: Flask, mod: FlaskClient, kind: str, value: str, caught: Any, spared: Any
) -> None:
    [comment_id] = held(host)
    page = mod.get(f"{ADMIN}/comments/{comment_id}")
    answer = mod.post(
        f"{ADMIN}/comments/{comment_id}/ban",
        data={
            "csrf_token": csrf(page),
            "kind": kind,
            "action": "reject",
            "days": "7",
            "reason": "trolling",
        },
    )
    assert answer.status_code == 303
    assert "An active ban matches this author" in mod.get(answer.headers["Location"]).get_data(
        as_text=True
    )
    with state_of(host).new_session() as session:
        found = bans.match(session, ip=caught[0], email=caught[1])
        assert found is not None and (found.kind, found.value, found.action) == (
            kind,
            value,
            "reject",
        )
        assert found.created_by == "Mo" and found.reason == "trolling"
        assert found.expires_at is not None
        assert (
            dt.timedelta(days=6.9) < found.expires_at - dt.datetime.utcnow() < dt.timedelta(days=7)
        )
        assert bans.match(session, ip=spared[0], email=spared[1]) is None
    assert audit(host)[-1] == ("Mo", "ban", None, None, f"{kind} {value}")


def test_bad_ban_requests_are_refused(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    page = mod.get(f"{ADMIN}/comments/{comment_id}")
    before = snapshot(host)
    for data in ({"kind": "email", "days": "0"}, {"kind": "email", "days": "x"}, {"kind": "phone"}):
        answer = mod.post(
            f"{ADMIN}/comments/{comment_id}/ban", data={"csrf_token": csrf(page), **data}
        )
        assert answer.status_code == 422, data
    assert snapshot(host) == before


def test_a_ban_from_the_comment_page_reads_only_the_author(host: Flask, mod: FlaskClient) -> None:
    [comment_id] = held(host)
    page = mod.get(f"{ADMIN}/comments/{comment_id}")
    with count_queries(state_of(host).engine) as statements:
        answer = mod.post(
            f"{ADMIN}/comments/{comment_id}/ban", data={"csrf_token": csrf(page), "kind": "ip"}
        )
    assert answer.status_code == 303
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "debatebox_report" not in reads[0], reads
    missing = mod.post(
        f"{ADMIN}/comments/999999/ban", data={"csrf_token": csrf(page), "kind": "ip"}
    )
    assert missing.status_code == 404


def test_a_long_moderator_name_is_cut_to_fit_the_audit_log(
    make_host: Callable[..., Flask],
) -> None:
    name = ("Modératrice en chef " * 8)[:150]  # a host's check may answer any name
    host = make_host(check=lambda: name)
    client = host.test_client()
    [comment_id] = held(host)
    with state_of(host).new_session() as session:
        thread_id = session.scalars(sa.select(Thread.id)).one()
    page = client.get(f"{ADMIN}/bans")
    form = {"csrf_token": csrf(page)}
    steps = [
        ("/bans", {"kind": "email", "value": "troll@example.org", "action": "reject"}),
        (f"/comments/{comment_id}/decide", {"action": "approve"}),
        (f"/comments/{comment_id}/ban", {"kind": "domain", "days": "3"}),
        (f"/threads/{thread_id}", {"title": "Renamed"}),
    ]
    for path, data in steps:
        assert client.post(f"{ADMIN}{path}", data={**form, **data}).status_code == 303, path
    with state_of(host).new_session() as session:
        first_ban = session.scalars(sa.select(sa.func.min(Ban.id))).one()
        assert set(session.scalars(sa.select(Ban.created_by))) == {name[:100]}
    lifted = client.post(f"{ADMIN}/bans/{first_ban}/lift", data=form)
    assert lifted.status_code == 303
    assert [entry[:4] for entry in audit(host)] == [
        (name[:100], "ban", None, None),
        (name[:100], "approve", comment_id, thread_id),
        (name[:100], "ban", None, None),
        (name[:100], "thread", None, thread_id),
        (name[:100], "unban", None, None),
    ]
    assert audit(host)[-1][4] == "email troll@example.org"


# Bans, threads, the audit log ---------------------------------------------------------


def test_bans_list_add_and_lift(host: Flask, mod: FlaskClient) -> None:
    page = mod.get(f"{ADMIN}/bans")
    assert "No bans." in page.get_data(as_text=True)
    added = mod.post(
        f"{ADMIN}/bans",
        data={"csrf_token": csrf(page), "kind": "ip", "value": "203.0.113.0/24", "action": "hold"},
    )
    assert added.status_code == 303
    bad = mod.post(f"{ADMIN}/bans", data={"csrf_token": csrf(page), "kind": "ip", "value": "nope"})
    assert bad.status_code == 422 and "An IP address or network" in bad.get_data(as_text=True)
    too_long = "x" * 250 + "@example.org"  # longer than the column on every database
    for kind, value in (("email", too_long), ("domain", too_long.replace("@", "."))):
        data = {"csrf_token": csrf(page), "kind": kind, "value": value}
        refused = mod.post(f"{ADMIN}/bans", data=data)
        assert refused.status_code == 422 and "At most 254 characters." in refused.get_data(
            as_text=True
        )
    listing = mod.get(f"{ADMIN}/bans").get_data(as_text=True)
    assert "203.0.113.0/24" in listing and "Lift the ban on ip 203.0.113.0/24" in listing
    with state_of(host).new_session() as session:
        [ban] = bans.active(session)
    assert (
        mod.post(f"{ADMIN}/bans/{ban.id}/lift", data={"csrf_token": csrf(page)}).status_code == 303
    )
    with state_of(host).new_session() as session:
        assert bans.active(session) == []
        assert bans.match(session, ip="203.0.113.5", email=None) is None
    listing = mod.get(f"{ADMIN}/bans").get_data(as_text=True)
    assert "(over)" in listing and "Lift the ban" not in listing
    assert [a[:2] for a in audit(host)] == [("Mo", "ban"), ("Mo", "unban")]
    assert mod.post(f"{ADMIN}/bans/999999/lift", data={"csrf_token": csrf(page)}).status_code == 404


def test_pages_of_bans_and_threads_cover_every_row_once(host: Flask, mod: FlaskClient) -> None:
    with state_of(host).new_session() as session, session.begin():
        session.add_all(Ban(kind="email", value=f"b{n}@example.org") for n in range(60))
        session.add_all(Thread(key=f"/t{n}", title=f"Story {n}") for n in range(60))
    for path, pattern, older in [
        ("/bans", r"<strong>b(\d+)@example.org</strong>", "Older bans"),
        ("/threads", r"/t(\d+)<", "Older threads"),
    ]:
        seen: list[int] = []
        params: dict[str, str] = {}
        for _ in range(5):
            page = mod.get(f"{ADMIN}{path}", query_string=params).get_data(as_text=True)
            seen += [int(n) for n in re.findall(pattern, page)]
            found = re.search(rf'href="[^"]*after=(\d+)">{older}', page)
            if not found:
                break
            params = {"after": found.group(1)}
        assert seen == list(range(59, -1, -1)), path


def test_thread_settings(host: Flask, mod: FlaskClient) -> None:
    held(host, thread="/story", title="A story")
    with state_of(host).new_session() as session:
        thread_id, version = session.execute(sa.select(Thread.id, Thread.version)).one()
    listing = mod.get(f"{ADMIN}/threads").get_data(as_text=True)
    assert "A story" in listing and "/story" in listing and "site default" in listing
    page = mod.get(f"{ADMIN}/threads/{thread_id}")
    form = {
        "csrf_token": csrf(page),
        "title": "A better story",
        "moderation": "first-time",
        "closed": "1",
    }
    saved = mod.post(f"{ADMIN}/threads/{thread_id}", data=form)
    assert saved.status_code == 303
    assert "settings were saved" in mod.get(saved.headers["Location"]).get_data(as_text=True)
    with state_of(host).new_session() as session:
        thread = session.get(Thread, thread_id)
        assert thread is not None
        assert (thread.title, thread.moderation, thread.closed) == (
            "A better story",
            "first-time",
            True,
        )
        assert thread.version == version + 1
    [entry] = audit(host)
    assert entry[:4] == ("Mo", "thread", None, thread_id)
    assert "closed: no → yes" in entry[4] and "moderation: default → first-time" in entry[4]
    unchanged = mod.post(f"{ADMIN}/threads/{thread_id}", data=form)
    assert "done=unchanged" in unchanged.headers["Location"] and len(audit(host)) == 1
    reopened = mod.post(
        f"{ADMIN}/threads/{thread_id}", data={**form, "moderation": "", "closed": ""}
    )
    assert reopened.status_code == 303
    with state_of(host).new_session() as session:
        thread = session.get(Thread, thread_id)
        assert thread is not None and (thread.moderation, thread.closed) == (None, False)
    bad = mod.post(f"{ADMIN}/threads/{thread_id}", data={**form, "moderation": "sometimes"})
    assert bad.status_code == 422
    assert mod.get(f"{ADMIN}/threads/999999").status_code == 404
    assert "A better story" in mod.get(f"{ADMIN}/threads?q=BETTER").get_data(as_text=True)
    assert "No threads match" in mod.get(f"{ADMIN}/threads?q=nothing").get_data(as_text=True)


def test_audit_log_lists_every_action_newest_first(host: Flask, mod: FlaskClient) -> None:
    ids = held(host, 3)
    page = mod.get(f"{ADMIN}/")
    mod.post(
        f"{ADMIN}/bulk",
        data={"csrf_token": csrf(page), "action": "approve", "comment": [str(ids[0])]},
    )
    mod.post(
        f"{ADMIN}/bulk",
        data={"csrf_token": csrf(page), "action": "reject", "comment": [str(ids[1])]},
    )
    mod.post(f"{ADMIN}/comments/{ids[2]}/ban", data={"csrf_token": csrf(page), "kind": "domain"})
    mod.post(f"{ADMIN}/threads/1", data={"csrf_token": csrf(page), "title": "Renamed"})
    text = mod.get(f"{ADMIN}/audit").get_data(as_text=True)
    rows = re.findall(
        r"<tr>\s*<td class=\"meta\">[^<]+</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", text
    )
    assert rows == [("Mo", "thread"), ("Mo", "ban"), ("Mo", "reject"), ("Mo", "approve")]
    assert f'href="/debatebox/admin/comments/{ids[0]}"' in text
    assert "domain example.org" in text and "Renamed" in text


def test_audit_log_pages(host: Flask, mod: FlaskClient) -> None:
    with state_of(host).new_session() as session, session.begin():
        session.add_all(
            AuditEntry(moderator=f"m{n}", action="ban", detail=str(n)) for n in range(75)
        )
    first = mod.get(f"{ADMIN}/audit").get_data(as_text=True)
    found = re.search(r'href="[^"]*after=(\d+)">Older entries', first)
    assert found and "<td>m74</td>" in first and "<td>m24</td>" not in first
    second = mod.get(f"{ADMIN}/audit?after={found.group(1)}").get_data(as_text=True)
    assert "<td>m24</td>" in second and "<td>m0</td>" in second and "Older entries" not in second
