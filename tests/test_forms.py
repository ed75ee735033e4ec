"""The no-JavaScript path: a server-rendered thread and form that posts and comes back."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from debatebox import delivery
from mailserver import MailServer

PAGE = (
    '<html><body><h1>Article</h1>{{ debatebox.thread("/article", title="Article") }}</body></html>'
)


@pytest.fixture
def site(make_app: Any) -> Flask:
    return _site(make_app())


def _site(app: Flask) -> Flask:
    @app.get("/article")
    def article() -> str:
        return render_template_string(PAGE)

    return app


def form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the page's comment form, as a browser would send them."""
    form = html[html.index('<form class="debatebox-form"') :]
    form = form[: form.index("</form>")]
    return {
        name: value
        for name, value in re.findall(
            r'<input id="[^"]*" name="(\w+)" type="hidden" value="([^"]*)"', form
        )
    } | dict(re.findall(r'<input name="(\w+)" type="hidden" value="([^"]*)"', form))


def submit(client: FlaskClient, page: str, **fields: str) -> Any:
    html = client.get(page).get_data(as_text=True)
    data = form_fields(html) | {"name": "Ann", "email": "ann@example.org", "body": "Hi"} | fields
    return client.post("/debatebox/form/comments", data=data)


def test_page_shows_form_with_labels_and_tokens(site: Flask) -> None:
    html = site.test_client().get("/article").get_data(as_text=True)
    fields = form_fields(html)
    assert fields["csrf_token"] and fields["form_token"] and fields["thread"] == "/article"
    for label in ("Name", "Email", "Website", "Comment"):
        assert f">{label}</label>" in html
    assert "Your email will not be published." in html
    assert ">Post comment</button>" in html
    assert 'name="homepage"' in html  # the honeypot


def test_post_redirects_back_to_the_new_comment(site: Flask) -> None:
    client = site.test_client()
    response = submit(client, "/article", body="No *script* needed")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/article\?debatebox_comment=(\d+)#comment-\1", location)
    html = client.get("/article").get_data(as_text=True)
    assert "<p>No <em>script</em> needed</p>" in html
    assert "1 comment<" in html


def test_reply_link_opens_form_for_that_comment(site: Flask) -> None:
    client = site.test_client()
    first = submit(client, "/article", body="Parent")
    parent_id = first.headers["Location"].rsplit("-", 1)[1]
    html = client.get("/article").get_data(as_text=True)
    assert f'href="/article?debatebox_reply={parent_id}#debatebox-form"' in html
    reply_page = f"/article?debatebox_reply={parent_id}"
    assert "Reply to Ann, #1" in client.get(reply_page).get_data(as_text=True)
    reply = submit(client, reply_page, body="Child", name="Bob")
    assert reply.status_code == 303
    assert reply.headers["Location"].startswith("/article?debatebox_comment=")
    html = client.get("/article").get_data(as_text=True)
    assert html.index("Child") > html.index("Parent")
    assert 'class="debatebox-replies"' in html


def test_invalid_comment_shows_errors_and_keeps_the_text(site: Flask) -> None:
    client = site.test_client()
    response = submit(client, "/article", body="My long considered reply", email="not-an-email")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Your comment was not posted" in html
    assert "Email does not look like an email address." in html
    assert 'aria-describedby="debatebox-email-error"' in html
    assert "My long considered reply</textarea>" in html
    assert 'href="/article"' in html
    # Posting the corrected form from that page works.
    data = form_fields(
        html.replace('class="debatebox-form" method', 'class="debatebox-form" method')
    )
    data |= {"name": "Ann", "email": "ann@example.org", "body": "My long considered reply"}
    again = client.post("/debatebox/form/comments", data=data)
    assert again.status_code == 303


def test_missing_csrf_token_is_refused_without_losing_text(site: Flask) -> None:
    client = site.test_client()
    response = submit(client, "/article", csrf_token="forged", body="Keep me")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This form has expired" in html
    assert "Keep me</textarea>" in html
    assert "0 comments" in client.get("/article").get_data(as_text=True)


def test_redirect_never_leaves_the_site(site: Flask) -> None:
    client = site.test_client()
    response = submit(client, "/article", next="https://evil.example/")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/?debatebox_comment=")
    response = submit(client, "/article", next="//evil.example/x")
    assert response.headers["Location"].startswith("/?debatebox_comment=")


def test_held_comment_says_it_awaits_moderation(make_app: Any) -> None:
    site = _site(make_app(DEBATEBOX_MODERATION="all"))
    client = site.test_client()
    response = submit(client, "/article", body="Please approve")
    assert response.status_code == 303
    assert response.headers["Location"] == "/article?debatebox_held=1#debatebox-form"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "awaiting moderation" in html
    assert "Please approve" not in html


def test_script_helper_prints_versioned_widget_url(site: Flask) -> None:
    with site.test_request_context("/"):
        tag = render_template_string("{{ debatebox.script() }}")
    src = re.search(r'src="([^"]+)"', tag)
    assert src is not None and "/debatebox/embed.js?v=" in src.group(1)
    response = site.test_client().get(src.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]


def test_notification_checkboxes_without_javascript(make_app: Any, mail_server: MailServer) -> None:
    plain = _site(make_app()).test_client().get("/article").get_data(as_text=True)
    assert 'name="notify_all"' not in plain  # no mail server, no checkboxes
    site = _site(make_app(DEBATEBOX_SMTP_URL=mail_server.url))
    client = site.test_client()
    html = client.get("/article").get_data(as_text=True)
    for name, label in (
        ("notify_replies", "Notify me of replies to my comment"),
        ("notify_all", "Notify me of all new comments on this page"),
    ):
        assert f'name="{name}" type="checkbox"' in html
        assert f'<label for="debatebox-{name}">{label}</label>' in html
    assert submit(client, "/article", notify_all="y").status_code == 303
    with site.app_context():
        assert delivery.run_once(site.extensions["debatebox"]).sent == 1
    (confirmation,) = mail_server.wait_for(1)
    assert confirmation.recipients == ("ann@example.org",)
    assert "new comments" in str(confirmation.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
