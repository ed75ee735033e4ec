"""The email and subscription-page catalogs match the English strings of ``messages.EN``.

Each ``translations/<lang>.json`` must have exactly the keys of ``EN``, in the same
order, with a non-empty string for each that keeps every ``{placeholder}`` of the
English; :func:`messages.translator` must use it, and fall back to English otherwise.
"""

from __future__ import annotations

import json
import string
from importlib import resources
from typing import Any

import pytest

from debatebox import messages
from debatebox.messages import EN

LANGUAGES = [lang for lang in messages.LANGUAGES if lang != "en"]


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a :meth:`str.format` string (``{{`` is not one)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"duplicate keys {duplicates}"
    return dict(pairs)


def load_catalog(lang: str) -> dict[str, Any]:
    path = resources.files("debatebox").joinpath("translations").joinpath(f"{lang}.json")
    loaded = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    assert isinstance(loaded, dict)
    return loaded


def sample_values(key: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in placeholders(EN[key])}


def test_english_is_well_formed() -> None:
    assert EN
    for key, value in EN.items():
        assert isinstance(value, str), key
        assert value.strip(), key
        assert value.format_map(sample_values(key)), key


def test_every_language_has_a_catalog_and_no_other_file_exists() -> None:
    folder = resources.files("debatebox").joinpath("translations")
    found = sorted(item.name for item in folder.iterdir() if not item.name.startswith("."))
    assert found == sorted(f"{lang}.json" for lang in LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_has_exactly_the_english_keys(lang: str) -> None:
    catalog = load_catalog(lang)
    missing = [key for key in EN if key not in catalog]
    extra = [key for key in catalog if key not in EN]
    assert not missing, f"{lang}.json lacks {missing}"
    assert not extra, f"{lang}.json has keys messages.EN does not use: {extra}"
    assert list(catalog) == list(EN), f"{lang}.json keys are not in the order of messages.EN"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_values_are_strings_with_the_english_placeholders(lang: str) -> None:
    catalog = load_catalog(lang)
    for key, source in EN.items():
        if key not in catalog:
            continue  # reported by the keys test
        value = catalog[key]
        assert isinstance(value, str), f"{lang}.{key} must be a string"
        assert value.strip(), f"{lang}.{key} is empty"
        assert value == value.strip(), f"{lang}.{key} has surrounding whitespace"
        assert placeholders(value) == placeholders(source), (
            f"{lang}.{key}: {sorted(placeholders(value))}, "
            f"English has {sorted(placeholders(source))}"
        )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translator_uses_the_catalog_for_every_key(lang: str) -> None:
    catalog = load_catalog(lang)
    t = messages.translator(lang)
    for key in EN:
        values = sample_values(key)
        text = t(key, **values)
        assert text == catalog[key].format_map(values), f"{lang}.{key} fell back to English"
        assert "{" not in text, f"{lang}.{key}: {text!r}"
        assert "}" not in text, f"{lang}.{key}: {text!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translation_differs_from_english(lang: str) -> None:
    t = messages.translator(lang)
    assert t("unsubscribe") != EN["unsubscribe"]
    assert t("what_thread") != EN["what_thread"]


def test_german_translator() -> None:
    t = messages.translator("de")
    assert t("unsubscribe") == load_catalog("de")["unsubscribe"]
    assert t("unsubscribe") != EN["unsubscribe"]
    assert messages.translator("de-AT")("unsubscribe") == t("unsubscribe")


def test_german_confirmed_fills_every_placeholder() -> None:
    t = messages.translator("de")
    text = t("confirmed", what=t("what_thread"), title="Ein Artikel", email="leserin@example.org")
    assert "{" not in text
    assert "}" not in text
    assert "Ein Artikel" in text
    assert "leserin@example.org" in text
    assert t("what_thread") in text


@pytest.mark.parametrize("lang", ["xx", "", None, "en", "EN-gb"])
def test_unknown_or_english_falls_back_to_english(lang: str | None) -> None:
    t = messages.translator(lang)
    for key in EN:
        values = sample_values(key)
        assert t(key, **values) == EN[key].format_map(values)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-CH,de;q=0.9,en;q=0.8", "de"),
        ("xx, fr;q=0.5", "fr"),
        (None, "en"),
        ("", "en"),
        ("en-US,de;q=0.5", "en"),
        ("RU", "ru"),
        ("xx, yy", "en"),
    ],
)
def test_best_language(header: str | None, expected: str) -> None:
    assert messages.best_language(header) == expected
