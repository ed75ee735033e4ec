"""The widget's translation catalogs match its English strings.

``static/i18n/en.json`` holds every English string (built into ``embed.js`` when it is
served); each other catalog in ``static/i18n/<lang>.json`` must have exactly the same
keys, keep every placeholder
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
EN_KEY = re.compile(r"\bt\(\s*\"(\w+)\"\s*[,)]")
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


@pytest.fixture(scope="module")
def english() -> Catalog:
    return load_catalog("en")


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
    assert found == sorted([*LANGUAGES, "en"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_has_exactly_the_english_keys(language: str, english: Catalog) -> None:
    catalog = load_catalog(language)
    missing = sorted(set(english) - set(catalog))
    extra = sorted(set(catalog) - set(english))
    assert not missing, f"{language}.json lacks {missing}"
    assert not extra, f"{language}.json has keys en.json does not have: {extra}"


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


def test_served_script_carries_the_english_catalog(english: Catalog) -> None:
    from debatebox.widget import _built_script, object_literal

    assert 'const EN = "__DEBATEBOX_EN__";' in SCRIPT.read_text(encoding="utf-8")
    served = _built_script()[0].decode("utf-8")
    assert f"const EN={object_literal(english)};" in served
    assert '"r_off-topic":"Off-topic"' in served  # a key that is not a plain name stays quoted
    assert "comments:{one:" in served


def test_every_key_the_script_asks_for_is_in_english(english: Catalog) -> None:
    asked = set(EN_KEY.findall(SCRIPT.read_text(encoding="utf-8")))
    assert asked, 'no t("key") calls found'
    assert sorted(asked - set(english)) == []
