"""Pure pieces without a database: tree assembly, client addresses, settings."""

from __future__ import annotations

from typing import Any

import pytest

from debatebox import tree
from debatebox.config import ConfigError, Settings, from_environ
from debatebox.net import client_address, truncate


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
