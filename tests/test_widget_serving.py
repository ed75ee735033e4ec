"""Serving ``embed.js``: the script and its stylesheet go out compacted, and still work."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from debatebox import widget
from debatebox.version import __version__

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
    return answer.data


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
