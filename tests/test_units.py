"""Small pieces, mostly without a database: tree assembly, client addresses, settings and
flags, websites."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from debatebox import screening, tree
from debatebox.config import ConfigError, Settings, from_environ, parse_flag
from debatebox.errors import ValidationError
from debatebox.net import client_address, truncate
from debatebox.standalone import create_app
from debatebox.urls import WebsiteTooLong, normalize_website
from debatebox.validation import parse
from support import BASE_CONFIG


def node(id_: int, parent: int | None, depth: int, deleted: bool = False) -> dict[str, Any]:
    return {"id": id_, "parent_id": parent, "depth": depth, "deleted": deleted}


def shape(nodes: list[dict[str, Any]]) -> list[Any]:
    return [
        (
            n["id"],
            n.get("reply_to", {}).get("id") if n.get("reply_to") else None,
            shape(n["replies"]),
        )
        for n in nodes
    ]


def test_tree_nests_to_the_cap_and_flattens_below() -> None:
    roots = [node(1, None, 0)]
    replies = [node(2, 1, 1), node(3, 2, 2), node(4, 3, 3), node(5, 4, 4), node(6, 2, 2)]
    out = tree.assemble(roots, replies, max_depth=2)
    assert shape(out) == [
        (1, None, [(2, None, [(3, None, []), (4, 3, []), (5, 4, []), (6, None, [])])])
    ]
    assert tree.count(out) == 6


def test_tombstones_kept_only_above_live_replies() -> None:
    roots = [node(1, None, 0, deleted=True), node(2, None, 0, deleted=True), node(3, None, 0)]
    replies = [node(4, 1, 1, deleted=True), node(5, 4, 2), node(6, 2, 1, deleted=True)]
    out = tree.assemble(roots, replies, max_depth=3)
    assert shape(out) == [(1, None, [(4, None, [(5, None, [])])]), (3, None, [])]
    assert tree.count(out) == 2


def test_replies_whose_parent_is_not_public_are_left_out() -> None:
    roots = [node(1, None, 0)]
    replies = [node(3, 2, 2), node(4, 3, 3)]  # comment 2 is held or spam
    assert shape(tree.assemble(roots, replies, max_depth=1)) == [(1, None, [])]


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.5", None, (), "203.0.113.5"),
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),  # no proxy trusted
        ("10.0.0.2", "198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", ("10.0.0.0/8",), "198.51.100.1"),
        ("192.0.2.1", "198.51.100.1", ("10.0.0.0/8",), "192.0.2.1"),  # not via the proxy
        ("10.0.0.2", "not-an-ip", ("10.0.0.0/8",), "10.0.0.2"),
    ],
)
def test_client_address(
    remote: str, forwarded: str | None, trusted: tuple[str, ...], expected: str
) -> None:
    assert client_address(remote, forwarded, trusted) == expected


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),
        ("garbage", ""),
    ],
)
def test_truncate(address: str, stored: str) -> None:
    assert truncate(address) == stored


def test_settings_from_strings_as_in_the_environment() -> None:
    env = {
        "DEBATEBOX_ORIGINS": "https://a.example, https://b.example/",
        "DEBATEBOX_MAX_DEPTH": "5",
        "DEBATEBOX_REQUIRE_EMAIL": "false",
        "DEBATEBOX_MIN_FILL_SECONDS": "1.5",
        "UNRELATED": "x",
    }
    settings = Settings.from_mapping(from_environ(env))
    assert settings.origins == ("https://a.example", "https://b.example")
    assert settings.max_depth == 5
    assert settings.require_email is False
    assert settings.min_fill_seconds == 1.5
    assert "UNRELATED" not in from_environ(env)
    with pytest.raises(ConfigError, match="DEBATEBOX_PAGE_SIZE"):
        Settings.from_mapping({"DEBATEBOX_PAGE_SIZE": "5000"})


@pytest.mark.parametrize(
    ("raw", "flag", "otherwise"),
    [
        (" Yes ", True, True),
        ("ON", True, False),
        ("1", True, False),
        ("0", False, True),
        ("Off", False, True),
        ("false", False, True),
        ("", False, False),
        ("", True, True),
        ("maybe", True, True),
        ("maybe", False, False),
    ],
)
def test_flags_written_as_text(raw: str, flag: bool, otherwise: bool) -> None:
    assert parse_flag(raw, otherwise=otherwise) is flag


def test_settings_read_unclear_flags_as_no() -> None:
    assert Settings.from_mapping({"DEBATEBOX_GRAVATAR": " On "}).gravatar is True
    assert Settings.from_mapping({"DEBATEBOX_GRAVATAR": "maybe"}).gravatar is False
    assert Settings.from_mapping({"DEBATEBOX_GRAVATAR": 0}).gravatar is False


@pytest.mark.parametrize(
    ("value", "secure"), [(None, True), ("0", False), (" OFF ", False), ("maybe", True), ("", True)]
)
def test_the_standalone_cookie_stays_secure_unless_clearly_turned_off(
    value: str | None, secure: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEBATEBOX_SECURE_COOKIES", raising=False)
    if value is not None:
        monkeypatch.setenv("DEBATEBOX_SECURE_COOKIES", value)
    config = {**BASE_CONFIG, "DEBATEBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    app = create_app(config, instance_path=str(tmp_path))
    app.extensions["debatebox"].engine.dispose()
    assert app.config["SESSION_COOKIE_SECURE"] is secure


def test_spam_rules_are_built_once_per_settings() -> None:
    settings = Settings.from_mapping(
        {"DEBATEBOX_BLOCKED_WORDS": "casino, loans", "DEBATEBOX_BLOCKED_ACTION": "reject"}
    )
    state: Any = SimpleNamespace(settings=settings)
    rules = screening.rules(state)
    assert rules is screening.rules(state)
    assert (rules.blocked_words, rules.blocked_action) == (("casino", "loans"), "reject")
    assert screening.rules(SimpleNamespace(settings=Settings.from_mapping({}))).blocked_words == ()


@pytest.mark.parametrize(
    "website",
    [
        "https://example.org/" + "a" * 481,  # typed too long
        "https://example.org/" + "ä" * 100,  # too long once percent-encoded
    ],
)
def test_a_website_too_long_says_so(website: str) -> None:
    with pytest.raises(WebsiteTooLong, match="too long"):
        normalize_website(website)


@pytest.mark.parametrize(
    ("website", "problem"),
    [
        ("https://example.org/" + "ä" * 100, "website_too_long"),
        ("javascript:alert(1)", "website"),
        ("https://long.example.org/", None),
    ],
)
def test_the_website_problem_is_named_by_its_kind(website: str, problem: str | None) -> None:
    data = {"thread": "/t", "name": "Ann", "email": "ann@example.org", "body": "Hi"}
    settings = Settings.from_mapping({})
    if problem is None:
        assert parse(settings, {**data, "website": website}).website == website
        return
    with pytest.raises(ValidationError) as raised:
        parse(settings, {**data, "website": website})
    assert raised.value.fields["website"].key == problem
