"""What the server says to readers, in the page's language: the thread rendered without
JavaScript, its form and error page, and the errors the JSON API answers with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string

from debatebox import messages
from debatebox.messages import ERRORS, FIELDS, Problem, number, plural_category
from support import Api
from test_forms import form_fields, submit

SOURCE = Path(__file__).resolve().parents[1] / "src" / "debatebox"


def site_in(make_app: Any, lang: str, **config: Any) -> Flask:
    app: Flask = make_app(**config)

    @app.get("/article")
    def article() -> str:
        return render_template_string(
            '{{ debatebox.thread("/article", title="Artikel", lang=lang) }}', lang=lang
        )

    return app


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# The thread without JavaScript ------------------------------------------------------------


def test_german_thread_and_form_use_the_widgets_words(make_app: Any) -> None:
    app = site_in(make_app, "de")
    client = app.test_client()
    for n in (1, 2):
        assert submit(client, "/article", body=f"Punkt {n}").status_code == 303
    html = client.get("/article").get_data(as_text=True)
    words = text_of(html)
    assert 'lang="de"' in html and 'data-debatebox-lang="de"' in html
    assert 'aria-label="Diskussion"' in html
    assert "2 Kommentare" in words
    assert "Einen Kommentar schreiben" in words
    for label in ("Name", "E-Mail", "Website", "Kommentar"):
        assert f">{label}</label>" in html, label
    assert "(optional)" in words
    assert "Ihre E-Mail-Adresse wird nicht veröffentlicht." in words
    assert ">Kommentar abschicken</button>" in html
    assert ">Antworten</a>" in html
    assert "Post comment" not in html and "Reply<" not in html
    assert form_fields(html)["lang"] == "de"


@pytest.mark.parametrize(
    ("count", "heading"), [(1, "1 komentarz"), (3, "3 komentarze"), (5, "5 komentarzy")]
)
def test_polish_count_takes_the_right_plural(make_app: Any, count: int, heading: str) -> None:
    app = site_in(make_app, "pl")
    client = app.test_client()
    for n in range(count):
        assert submit(client, "/article", body=f"Uwaga {n}").status_code == 303
    assert f">{heading}</h2>" in client.get("/article").get_data(as_text=True)


def test_unknown_language_is_english(make_app: Any) -> None:
    html = site_in(make_app, "xx").test_client().get("/article").get_data(as_text=True)
    assert 'lang="en"' in html and "0 comments" in html and ">Post comment</button>" in html


def test_error_page_speaks_the_forms_language_and_keeps_the_text(make_app: Any) -> None:
    client = site_in(make_app, "fr").test_client()
    response = submit(client, "/article", email="pas-une-adresse", body="Mon avis, gardé.")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Votre commentaire n\u2019a pas été publié" in html
    assert "Cette adresse e-mail ne semble pas valide." in html
    assert 'aria-describedby="debatebox-email-error"' in html
    assert "Mon avis, gardé.</textarea>" in html
    assert ">Retour à la page</a>" in html


def test_two_problems_give_the_summary_and_each_field_in_russian(make_app: Any) -> None:
    client = site_in(make_app, "ru").test_client()
    response = submit(client, "/article", name=" ", body="\n\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Исправьте отмеченные поля." in html
    assert "Поле «Имя» обязательно." in html
    assert "Поле «Комментарий» обязательно." in html


def test_expired_form_says_so_in_spanish(make_app: Any) -> None:
    client = site_in(make_app, "es").test_client()
    response = submit(client, "/article", csrf_token="forged", body="No lo pierdas")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Este formulario ha caducado. Vuelve a enviar tu comentario." in html
    assert "No lo pierdas</textarea>" in html


def test_form_posts_store_the_language_of_the_page(make_app: Any) -> None:
    app = site_in(make_app, "it")
    client = app.test_client()
    assert submit(client, "/article", body="Ciao").status_code == 303
    html = client.get("/article").get_data(as_text=True)
    assert "1 commento" in text_of(html)


# Pages of a long thread without JavaScript ------------------------------------------------


def numbers_shown(html: str) -> list[str]:
    return re.findall(r'class="debatebox-number">#(\d+)<', html)


def test_long_thread_pages_forward_and_back(make_app: Any) -> None:
    app = site_in(make_app, "en", DEBATEBOX_PAGE_SIZE=2)
    client = app.test_client()
    for n in range(5):
        assert submit(client, "/article", body=f"Point {n}").status_code == 303
    first = client.get("/article").get_data(as_text=True)
    assert numbers_shown(first) == ["1", "2"]
    assert "Back to the first comments" not in first
    more = re.search(r'class="debatebox-more" href="([^"]+)"', first)
    assert more and ">Load more comments</a>" in first
    second = client.get(more.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert numbers_shown(second) == ["3", "4"]
    back = re.search(r'class="debatebox-first" href="([^"]+)"', second)
    assert back and back.group(1) == "/article#debatebox-comments"
    third_link = re.search(r'class="debatebox-more" href="([^"]+)"', second)
    assert third_link
    third = client.get(third_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert numbers_shown(third) == ["5"]
    assert 'class="debatebox-more"' not in third
    # A reply link keeps the page, so the comment answered is still on it.
    reply = r'href="/article\?debatebox_after=2&amp;debatebox_reply=\d+#debatebox-form"'
    assert re.search(reply, second)


def test_a_broken_page_link_shows_the_first_page(make_app: Any) -> None:
    app = site_in(make_app, "en", DEBATEBOX_PAGE_SIZE=2)
    client = app.test_client()
    for n in range(3):
        submit(client, "/article", body=f"Point {n}")
    html = client.get("/article?debatebox_after=nonsense").get_data(as_text=True)
    assert numbers_shown(html) == ["1", "2"]


@pytest.mark.parametrize("sort", ["oldest", "newest"])
def test_after_posting_the_reader_lands_on_the_page_with_their_comment(
    make_app: Any, sort: str
) -> None:
    app = make_app(DEBATEBOX_PAGE_SIZE=2)

    @app.get("/article")
    def article() -> str:
        return render_template_string('{{ debatebox.thread("/article", sort=sort) }}', sort=sort)

    client = app.test_client()
    for n in range(3):
        assert submit(client, "/article", body=f"Earlier point {n}").status_code == 303
    posted = submit(client, "/article", body="My own point")
    location = posted.headers["Location"]
    comment_id = location.rsplit("-", 1)[1]
    html = client.get(location.split("#")[0]).get_data(as_text=True)
    assert f'id="comment-{comment_id}"' in html
    assert "My own point" in html
    if sort == "newest":
        assert numbers_shown(html)[0] == "4"  # the newest, at the top of the first page
    else:
        assert "4" in numbers_shown(html) and 'class="debatebox-first"' in html


# The JSON API's errors ---------------------------------------------------------------------


def test_api_field_problems_follow_accept_language(api: Api) -> None:
    german = api.post(body="", email="nein", headers={"Accept-Language": "de-AT, en;q=0.5"})
    assert german.status_code == 422
    data = german.get_json()
    assert data["error"] == "invalid"
    assert data["message"] == "Bitte korrigieren Sie die markierten Felder."
    assert data["fields"] == {
        "email": "Das sieht nicht wie eine E-Mail-Adresse aus.",
        "body": "Das Feld „Kommentar“ ist erforderlich.",
    }
    one = api.post(body="x" * 20_001, headers={"Accept-Language": "fr"}).get_json()
    assert one["fields"]["body"] == one["message"]
    too_long = r"Le champ « Commentaire » doit compter au plus [\d\u202f]+ caractères\."
    assert re.fullmatch(too_long, one["message"])
    english = api.post(body="", headers={"Accept-Language": "en-GB"}).get_json()
    assert english["message"] == english["fields"]["body"] == "Comment is required."
    unknown = api.post(body="", headers={"Accept-Language": "tlh"}).get_json()
    assert unknown["message"] == "Comment is required."


def test_api_refusals_follow_accept_language(make_app: Any) -> None:
    app = make_app(DEBATEBOX_DUPLICATE_WINDOW=3600, DEBATEBOX_RATE_LIMIT="2/minute")
    api = Api(app.test_client())
    polish = {"Accept-Language": "pl"}
    assert api.post(body="Ten sam tekst.", headers=polish).status_code == 201
    again = api.post(body="Ten sam tekst.", headers=polish)
    assert again.status_code == 409
    assert again.get_json() == {
        "error": "duplicate",
        "message": "Ten tekst został już przez Ciebie wysłany.",
        "fields": {},
    }
    limited = api.post(body="Trzeci.", headers=polish)
    assert limited.status_code == 429
    wait = limited.headers["Retry-After"]
    expected = f"Publikujesz zbyt szybko. Spróbuj ponownie za {wait} s."
    assert limited.get_json()["message"] == expected
    token = api.post(body="Inny.", form_token="garbage", headers={"Accept-Language": "it"})
    assert token.get_json()["message"] == "Il token del modulo non è valido. Ricarica la pagina."


def test_api_messages_without_a_translation_stay_english(api: Api) -> None:
    response = api.client.get("/debatebox/api/comments", headers={"Accept-Language": "de"})
    assert response.get_json()["message"] == "Name the thread with ?thread=KEY."


def test_edit_problems_follow_accept_language(api: Api) -> None:
    posted = api.posted(body="Erst so.")
    response = api.client.patch(
        f"/debatebox/api/comments/{posted['comment']['id']}",
        json={"body": "  "},
        headers={"X-Debatebox-Token": posted["edit_token"], "Accept-Language": "es"},
    )
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"body": "El campo «Comentario» es obligatorio."}


# The catalogs and rules behind them -------------------------------------------------------


def test_every_reader_error_is_raised_somewhere() -> None:
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOURCE.glob("*.py"))
    for code in ERRORS:
        if code == "invalid":
            continue  # the summary of several field problems (validation._summary)
        assert f'ERRORS["{code}"]' in source, code
    for key in FIELDS:
        used = (f'Problem("{key}"', f'Problem("{key}" if', f'else "{key}")')
        assert any(form in source for form in used), key


@pytest.mark.parametrize("lang", messages.LANGUAGES)
def test_every_problem_is_said_in_every_language(lang: str) -> None:
    for key in FIELDS:
        problem = Problem(key, label="comment", max=10_000)
        said = problem.says(lang)
        assert said and "{" not in said, (lang, key)
        if lang != "en":
            assert said != str(problem), (lang, key)


@pytest.mark.parametrize(
    ("lang", "cases"),
    [
        ("en", {0: "other", 1: "one", 2: "other", 1_000_000: "other"}),
        ("fr", {0: "one", 1: "one", 2: "other", 1_000_000: "many"}),
        ("de", {0: "other", 1: "one", 21: "other"}),
        ("pl", {1: "one", 2: "few", 5: "many", 12: "many", 22: "few", 101: "many"}),
        ("ru", {1: "one", 2: "few", 5: "many", 11: "many", 21: "one", 111: "many"}),
        ("es", {1: "one", 7: "other", 2_000_000: "many"}),
    ],
)
def test_plural_categories_match_cldr(lang: str, cases: dict[int, str]) -> None:
    assert {n: plural_category(lang, n) for n in cases} == cases


def test_numbers_are_grouped_as_the_language_writes_them() -> None:
    assert number("en", 10_000) == "10,000"
    assert number("de", 10_000) == "10.000"
    assert number("fr", 10_000) == "10\u202f000"
    assert number("es", 5_000) == "5000" and number("es", 50_000) == "50.000"
    assert number("ru", 1_234_567) == "1\u00a0234\u00a0567"
