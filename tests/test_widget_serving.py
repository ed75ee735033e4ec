"""Serving ``embed.js``: the script and its stylesheet go out compacted, and still work."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string

from debatebox import DebateBox, widget
from debatebox.version import __version__
from support import BASE_CONFIG

STATIC = Path(__file__).resolve().parents[1] / "src" / "debatebox" / "static"


def test_compact_script_drops_comments_and_white_space_but_keeps_literals() -> None:
    source = (
        "/* header */\n"
        "(function () {\n"
        "  // a comment line\n"
        "\n"
        '  const url = "https://example.org/  //x"; // a comment after code\n'
        "    const re = /\\/\\/ +/g;\n"
        "\t\tconst md = '`code`  /* not a comment */';\n"
        "  const tpl = `a  ${url}\n  b`;\n"
        "  const sum = a\n"
        "    + b;\n"
        "  /* a block comment\n   on two lines */\n"
        "  return (\n"
        "    sum / 2,\n"
        "    y);\n"
        "})();\n"
    )
    compact = widget.compact_script(source)
    assert compact == (
        "(function(){"
        'const url="https://example.org/  //x";'
        "const re=/\\/\\/ +/g;"
        "const md='`code`  /* not a comment */';"
        "const tpl=`a  ${url}\n  b`;"
        "const sum=a\n+b;"
        "return(sum/2,y);})();\n"
    )


def test_compact_css_drops_comments_indentation_and_blank_lines() -> None:
    source = (
        "/* Shadow-root styles */\n"
        ":host{all:initial}\n"
        "\n"
        '  .db{color:red;/* inline */\n  font:16px "Segoe UI",sans-serif}\n'
        ".db-a,\n.db-b\n.db-c{margin:0}\n"
    )
    assert widget.compact_css(source) == (
        ':host{all:initial}.db{color:red;font:16px "Segoe UI",sans-serif}'
        ".db-a,.db-b\n.db-c{margin:0}"
    )


@pytest.fixture
def served() -> bytes:
    app = Flask(__name__)
    app.register_blueprint(widget.widget)
    widget._built_script.cache_clear()
    answer = app.test_client().get("/embed.js")
    assert answer.status_code == 200
    data: bytes = answer.data
    return data


def test_served_script_is_compacted_with_the_stylesheet_inlined(served: bytes) -> None:
    text = served.decode("utf-8")
    lines = text.split("\n")
    assert not [line for line in lines if line[:1].isspace() or line.startswith("//")]
    assert len(lines) < (STATIC / "embed.js").read_text("utf-8").count("\n") / 10
    assert "" not in lines[:-1], "a blank line was left"
    assert "__DEBATEBOX_CSS__" not in text and "__DEBATEBOX_VERSION__" not in text
    inlined = re.search(r'const CSS=("(?:[^"\\]|\\.)*");', text)
    assert inlined, "no stylesheet"
    css = json.loads(inlined.group(1))
    source_css = (STATIC / "embed.css").read_text("utf-8")
    assert css == widget.compact_css(source_css)
    assert "/*" not in css and ".db-c{" in css
    plain = (
        (STATIC / "embed.js")
        .read_text("utf-8")
        .replace(widget.CSS_PLACEHOLDER, json.dumps(source_css))
        .replace(widget.VERSION_PLACEHOLDER, json.dumps(__version__))
    )
    assert len(gzip.compress(served, 9)) < len(gzip.compress(plain.encode(), 9))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to parse the script")
def test_served_script_is_valid_javascript(served: bytes, tmp_path: Path) -> None:
    path = tmp_path / "embed.js"
    path.write_bytes(served)
    checked = subprocess.run(
        ["node", "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr


# Caching ------------------------------------------------------------------------------

YEAR = 365 * 24 * 60 * 60


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Flask]:
    """A host app with debatebox under its default prefix (the database is never opened)."""
    app = Flask("host", instance_path=str(tmp_path / "instance"))
    app.config.update(BASE_CONFIG, DEBATEBOX_DATABASE_URL=f"sqlite:///{tmp_path / 'c.sqlite3'}")
    DebateBox(app)
    widget._built_script.cache_clear()
    yield app
    app.extensions["debatebox"].engine.dispose()


def cache_control(header: str) -> set[str]:
    return {part.strip() for part in header.split(",")}


def test_script_has_a_strong_etag_and_answers_304(site: Flask) -> None:
    client = site.test_client()
    first = client.get("/debatebox/embed.js")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert not etag.startswith("W/"), "a weak ETag cannot name the script's exact bytes"
    assert re.fullmatch(r'"[0-9a-f]{20}"', etag), etag
    again = client.get("/debatebox/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    other = client.get("/debatebox/embed.js", headers={"If-None-Match": '"0123456789abcdef0123"'})
    assert other.status_code == 200 and other.data == first.data


def test_versioned_script_url_is_cached_for_a_year(site: Flask) -> None:
    with site.test_request_context("/"):
        tag = render_template_string("{{ debatebox.script() }}")
    src = re.fullmatch(r'<script src="([^"]+)" defer></script>', tag)
    assert src, tag
    client = site.test_client()
    etag = client.get("/debatebox/embed.js").headers["ETag"].strip('"')
    assert src.group(1) == f"/debatebox/embed.js?v={etag}"
    versioned = client.get(src.group(1))
    assert versioned.status_code == 200
    assert cache_control(versioned.headers["Cache-Control"]) == {
        "public",
        f"max-age={YEAR}",
        "immutable",
    }
    revalidated = client.get(src.group(1), headers={"If-None-Match": f'"{etag}"'})
    assert revalidated.status_code == 304
    assert "immutable" in revalidated.headers["Cache-Control"]


@pytest.mark.parametrize(
    "query",
    ["", "?v=", "?v=0123456789abcdef0123", "?x=1&v=stale"],
    ids=["bare", "empty-version", "other-version", "stale-version"],
)
def test_unversioned_or_stale_script_url_is_revalidated_soon(site: Flask, query: str) -> None:
    response = site.test_client().get(f"/debatebox/embed.js{query}")
    assert response.status_code == 200
    assert cache_control(response.headers["Cache-Control"]) == {"public", "max-age=300"}


def test_catalogs_have_strong_etags_and_are_not_cached_as_immutable(site: Flask) -> None:
    """The catalogs' URLs carry no version, so a new release must reach readers in a day."""
    client = site.test_client()
    for path in sorted((STATIC / "i18n").glob("*.json")):
        url = f"/debatebox/i18n/{path.stem}.json"
        first = client.get(url)
        assert first.status_code == 200, url
        assert first.get_json() == json.loads(path.read_text("utf-8"))
        etag = first.headers["ETag"]
        assert not etag.startswith("W/") and len(etag) > 2, (url, etag)
        parts = cache_control(first.headers["Cache-Control"])
        assert "immutable" not in parts and "public" in parts, (url, parts)
        ages = [int(p.removeprefix("max-age=")) for p in parts if p.startswith("max-age=")]
        assert ages and 0 < ages[0] <= 86400, (url, parts)
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"", url
    assert client.get("/debatebox/i18n/xx.json").status_code == 404
    assert client.get("/debatebox/i18n/..%2Fembed.json").status_code == 404
