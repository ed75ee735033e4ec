"""The package keeps its layers: lower modules never import higher ones (see STYLE)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "debatebox"

#: Layer of each module, lowest first. A module may import its own layer and lower ones.
LAYERS: dict[str, int] = {
    **dict.fromkeys(["version", "config", "signals", "errors"], 0),
    **dict.fromkeys(
        [
            "models",
            "tokens",
            "render",
            "avatars",
            "urls",
            "tree",
            "net",
            "database",
            "migrate",
            "state",
            "smtp",
            "messages",
            "mailtext",
            "akismet",
            "spam",
        ],
        1,
    ),
    **dict.fromkeys(["moderation", "ratelimit", "validation", "outbox", "notices"], 2),
    **dict.fromkeys(["comments", "threads", "subscriptions", "links", "bans", "screening"], 3),
    **dict.fromkeys(["admin_queries", "admins"], 3),
    **dict.fromkeys(["forms", "serialize", "decisions", "delivery", "reports"], 4),
    **dict.fromkeys(["web", "api", "views", "widget", "commands", "server", "pages"], 5),
    **dict.fromkeys(["admin", "admin_access"], 5),
    **dict.fromkeys(["extension"], 6),
    **dict.fromkeys(["standalone", "demo", "cli", "__init__"], 7),
}
#: Only these modules may touch ``flask.request`` (the web edges).
REQUEST_USERS = {"web", "api", "views", "widget", "pages", "admin", "admin_access"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("debatebox"):
            parts = (node.module or "").split(".")
            found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def test_every_module_has_a_layer() -> None:
    assert {p.stem for p in _modules()} == set(LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_no_upward_imports(path: Path) -> None:
    own = LAYERS[path.stem]
    upward = {name for name in _imports(path) if name in LAYERS and LAYERS[name] > own}
    assert not upward, f"{path.stem} (layer {own}) imports higher modules {sorted(upward)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_only_web_edges_touch_the_request(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "flask"
        for alias in node.names
    }
    if path.stem not in REQUEST_USERS:
        assert "request" not in names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.stem)
def test_modules_stay_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{path.name} has {lines} lines: split it"
