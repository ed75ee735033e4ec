"""The widget's translation catalogs match its built-in English strings.

``embed.js`` carries every English string in its ``EN`` object; each catalog in
``static/i18n/<lang>.json`` must have exactly the same keys, keep every placeholder
(``{n}``, ``{name}``, ``{label}``) and give each plural string exactly the plural
categories that ``Intl.PluralRules`` (CLDR) selects from for that language.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[1] / "src" / "debatebox" / "static"
SCRIPT = STATIC / "embed.js"
CATALOGS = STATIC / "i18n"

#: Plural categories of ``new Intl.PluralRules(lang).resolvedOptions().pluralCategories``
#: (CLDR 42 and later: French, Italian and Spanish have "many" for millions).
PLURAL_CATEGORIES: dict[str, frozenset[str]] = {
    "en": frozenset({"one", "other"}),
    "de": frozenset({"one", "other"}),
    "fr": frozenset({"one", "many", "other"}),
    "it": frozenset({"one", "many", "other"}),
    "es": frozenset({"one", "many", "other"}),
    "pl": frozenset({"one", "few", "many", "other"}),
    "ru": frozenset({"one", "few", "many", "other"}),
}
LANGUAGES = sorted(set(PLURAL_CATEGORIES) - {"en"})
PLACEHOLDER = re.compile(r"\{(\w+)\}")

Catalog = dict[str, Any]


# Reading EN out of embed.js -----------------------------------------------------------------


def _js_literal_to_json(source: str) -> str:
    """Turn a JavaScript object literal of strings into JSON.

    Handles what the English catalog uses: unquoted or quoted keys, double- or
    single-quoted strings, trailing commas and comments. Anything else (a variable, a
    call, a template string) is refused rather than guessed.
    """
    out: list[str] = []
    i = 0
    length = len(source)
    while i < length:
        char = source[i]
        if char in "\"'":
            end = i + 1
            chars: list[str] = []
            while source[end] != char:
                if source[end] == "\\":
                    chars.append(source[end : end + 2])
                    end += 2
                    continue
                if source[end] == "\n":
                    raise ValueError("unterminated string in EN")
                chars.append(source[end])
                end += 1
            text = "".join(chars)
            if char == "'":
                text = text.replace("\\'", "'").replace('"', '\\"')
            out.append(f'"{text}"')
            i = end + 1
        elif source.startswith("//", i):
            i = source.index("\n", i)
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif char == ",":
            rest = source[i + 1 :]
            stripped = re.sub(r"^(\s|//[^\n]*|/\*.*?\*/)*", "", rest, flags=re.DOTALL)
            if not stripped.startswith(("}", "]")):
                out.append(char)
            i += 1
        elif char.isalpha() or char in "_$":
            match = re.compile(r"[A-Za-z_$][\w$]*").match(source, i)
            assert match is not None
            word = match.group()
            after = source[match.end() :].lstrip()
            if word in {"true", "false", "null"}:
                out.append(word)
            elif after.startswith(":"):
                out.append(json.dumps(word))
            else:
                raise ValueError(f"EN holds something that is not a literal: {word!r}")
            i = match.end()
        elif char == "`":
            raise ValueError("EN holds a template string")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _balanced_object(source: str, start: int) -> str:
    """The text of the ``{…}`` that opens at ``start``, skipping strings and comments."""
    depth = 0
    i = start
    while i < len(source):
        char = source[i]
        if char in "\"'`":
            i += 1
            while source[i] != char:
                i += 2 if source[i] == "\\" else 1
        elif source.startswith("//", i):
            i = source.index("\n", i)
            continue
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return source[start : i + 1]
        i += 1
    raise ValueError("EN object is not closed")


def english_catalog(script: str) -> Catalog:
    """The ``EN`` object of ``embed.js``.

    Preferred form: strict JSON between ``/*EN*/`` and ``/*EN-END*/``. Without the
    markers, the literal after ``const EN =`` is read with a tolerant converter.
    """
    marked = re.search(r"/\*EN\*/(.*?)/\*EN-END\*/", script, re.DOTALL)
    if marked:
        loaded = json.loads(marked.group(1))
    else:
        found = re.search(r"\bconst\s+EN\s*=\s*(?:/\*.*?\*/\s*)?\{", script, re.DOTALL)
        if not found:
            raise ValueError("no EN catalog in embed.js")
        literal = _balanced_object(script, found.end() - 1)
        loaded = json.loads(_js_literal_to_json(literal))
    if not isinstance(loaded, dict):
        raise ValueError("EN is not an object")
    return loaded


@pytest.fixture(scope="module")
def english() -> Catalog:
    return english_catalog(SCRIPT.read_text(encoding="utf-8"))


def load_catalog(language: str) -> Catalog:
    text = (CATALOGS / f"{language}.json").read_text(encoding="utf-8")

    def refuse_constant(name: str) -> None:
        raise ValueError(f"{language}.json: {name} is not JSON")

    loaded = json.loads(text, parse_constant=refuse_constant)
    assert isinstance(loaded, dict), f"{language}.json is not an object"
    return loaded


def placeholders(value: str | dict[str, str]) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


# The reader itself ------------------------------------------------------------------------


def test_reader_handles_unquoted_keys_and_trailing_commas() -> None:
    script = """
      const CSS = "x";
      const EN = {
        comments: { one: "{n} comment", other: "{n} comments" }, // plural
        'quote': 'it\\'s "fine"',
        "brace": "a } in a string, and a , too",
        /* a comment */ last: "done",
      };
      const other = {};
    """
    assert english_catalog(script) == {
        "comments": {"one": "{n} comment", "other": "{n} comments"},
        "quote": 'it\'s "fine"',
        "brace": "a } in a string, and a , too",
        "last": "done",
    }


def test_reader_prefers_strict_json_between_markers() -> None:
    script = 'const EN = /*EN*/{"a": "b", "n": {"one": "{n}", "other": "{n}s"}}/*EN-END*/;'
    assert english_catalog(script) == {"a": "b", "n": {"one": "{n}", "other": "{n}s"}}


def test_reader_refuses_computed_values() -> None:
    with pytest.raises(ValueError, match="not a literal"):
        english_catalog('const EN = { a: PREFIX + "b" };')


# The catalogs -----------------------------------------------------------------------------


def test_english_catalog_is_well_formed(english: Catalog) -> None:
    assert len(english) > 20
    for key, value in english.items():
        if isinstance(value, dict):
            assert set(value) == PLURAL_CATEGORIES["en"], key
            assert all(isinstance(form, str) and form for form in value.values()), key
        else:
            assert isinstance(value, str), key
            assert value, key


def test_every_language_has_a_catalog_and_no_other_file_exists() -> None:
    found = sorted(path.stem for path in CATALOGS.glob("*"))
    assert found == LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_exactly_the_english_keys(language: str, english: Catalog) -> None:
    catalog = load_catalog(language)
    missing = sorted(set(english) - set(catalog))
    extra = sorted(set(catalog) - set(english))
    assert not missing, f"{language}.json lacks {missing}"
    assert not extra, f"{language}.json has keys embed.js does not use: {extra}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_keeps_kinds_and_placeholders(language: str, english: Catalog) -> None:
    catalog = load_catalog(language)
    for key, source in english.items():
        if key not in catalog:
            continue  # reported by the keys test
        value = catalog[key]
        if isinstance(source, dict):
            assert isinstance(value, dict), f"{language}.{key} must be a plural object"
            for category, form in value.items():
                assert isinstance(form, str), f"{language}.{key}.{category}"
                assert form.strip(), f"{language}.{key}.{category} is empty"
                assert placeholders(form) == placeholders(source), (
                    f"{language}.{key}.{category}: {sorted(placeholders(form))}, "
                    f"English has {sorted(placeholders(source))}"
                )
        else:
            assert isinstance(value, str), f"{language}.{key} must be a string"
            assert value.strip(), f"{language}.{key} is empty"
            assert placeholders(value) == placeholders(source), (
                f"{language}.{key}: {sorted(placeholders(value))}, "
                f"English has {sorted(placeholders(source))}"
            )


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_strings_have_the_languages_categories(language: str, english: Catalog) -> None:
    catalog = load_catalog(language)
    wanted = PLURAL_CATEGORIES[language]
    for key, source in english.items():
        value = catalog.get(key)
        if isinstance(source, dict) and isinstance(value, dict):
            assert set(value) == wanted, (
                f"{language}.{key} has {sorted(value)}, Intl.PluralRules({language!r}) "
                f"selects from {sorted(wanted)}"
            )


@pytest.mark.parametrize("language", LANGUAGES)
def test_markdown_hint_keeps_its_syntax(language: str, english: Catalog) -> None:
    hint = load_catalog(language).get("markdown", "")
    for token in ("**", "`", "](https://example.org)", "> "):
        if token in english["markdown"]:
            assert token in hint, f"{language}.markdown lost {token!r}"
