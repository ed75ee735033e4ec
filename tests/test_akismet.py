"""The Akismet client against a real HTTP server on the loopback address."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from akismet_server import API_KEY, BLOG, GUARANTEED_SPAM, AkismetServer
from debatebox.akismet import AkismetClient, AkismetComment, AkismetUnavailable, AkismetVerdict
from debatebox.version import __version__

WRONG_KEY = "wrong-key-5e3c9f"


def client(server: AkismetServer, key: str = API_KEY, timeout: float = 2.0) -> AkismetClient:
    return AkismetClient(key, BLOG, endpoint=server.endpoint, timeout=timeout)


HAM = AkismetComment(
    user_ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    comment_author="Ada",
    comment_content="A thoughtful reply.",
)


def comment(**fields: str) -> AkismetComment:
    """An ordinary comment with ``fields`` changed."""
    return dataclasses.replace(HAM, **fields)  # type: ignore[arg-type]


def unavailable(call: Callable[[], object], *, within: float = 2.0) -> AkismetUnavailable:
    """The error ``call`` raises, which must come in less than ``within`` seconds."""
    started = time.monotonic()
    with pytest.raises(AkismetUnavailable) as caught:
        call()
    assert time.monotonic() - started < within
    return caught.value


# -- comment-check ----------------------------------------------------------------------


def test_ham_is_not_spam(akismet_server: AkismetServer) -> None:
    verdict = client(akismet_server).check(comment())
    assert verdict == AkismetVerdict(spam=False, discard=False, guid="guid-1")


@pytest.mark.parametrize(
    "fields",
    [
        {"comment_author": GUARANTEED_SPAM},
        {"comment_author_email": f"{GUARANTEED_SPAM}@example.com"},
        {"comment_author": "viagra-test-123"},
        {"comment_content": "Cheap pills: viagra-test-123 here"},
    ],
    ids=["author", "email", "old-test-author", "content"],
)
def test_documented_test_values_are_spam(
    akismet_server: AkismetServer, fields: dict[str, str]
) -> None:
    verdict = client(akismet_server).check(comment(**fields))
    assert verdict.spam
    assert not verdict.discard
    assert verdict.guid == "guid-1"


def test_spam_words_are_rules_a_test_sets(akismet_server: AkismetServer) -> None:
    akismet_server.spam_words.add("casino")
    assert client(akismet_server).check(comment(comment_content="best casino")).spam


def test_pro_tip_discard_marks_blatant_spam(akismet_server: AkismetServer) -> None:
    akismet_server.discard_spam = True
    akismet = client(akismet_server)
    assert akismet.check(comment(comment_author=GUARANTEED_SPAM)) == AkismetVerdict(
        spam=True, discard=True, guid="guid-1"
    )
    assert akismet.check(comment()) == AkismetVerdict(spam=False, discard=False, guid="guid-2")


def test_every_field_is_sent_as_documented(akismet_server: AkismetServer) -> None:
    written = datetime(2024, 5, 6, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    full = AkismetComment(
        user_ip="2001:db8::1",
        user_agent="Mozilla/5.0 (Zoë's browser)",
        referrer="https://search.test/?q=debate&x=1",
        permalink="https://comments.test/posts/42",
        comment_type="reply",
        comment_author="Zoë Ünicode",
        comment_author_email="zoe@example.org",
        comment_author_url="https://zoe.example.org/",
        comment_content="Grüße — “quoted” & <b>bold</b>\nsecond line = 100%",
        comment_date_gmt=written,
        comment_post_modified_gmt=datetime(2024, 5, 1, 12, 0, 0),  # naive: already UTC
        blog_lang="en, fr_ca",
        is_test=True,
        honeypot_field_name="website2",
        hidden_honeypot_field="",
    )
    client(akismet_server).check(full)

    [request] = akismet_server.requests
    assert request.path == "/1.1/comment-check"
    assert request.fields == {
        "api_key": API_KEY,
        "blog": BLOG,
        "user_ip": "2001:db8::1",
        "user_agent": "Mozilla/5.0 (Zoë's browser)",
        "referrer": "https://search.test/?q=debate&x=1",
        "permalink": "https://comments.test/posts/42",
        "comment_type": "reply",
        "comment_author": "Zoë Ünicode",
        "comment_author_email": "zoe@example.org",
        "comment_author_url": "https://zoe.example.org/",
        "comment_content": "Grüße — “quoted” & <b>bold</b>\nsecond line = 100%",
        "comment_date_gmt": "2024-05-06T07:30:15Z",
        "comment_post_modified_gmt": "2024-05-01T12:00:00Z",
        "blog_lang": "en, fr_ca",
        "blog_charset": "UTF-8",
        "is_test": "true",
        "honeypot_field_name": "website2",
        "hidden_honeypot_field": "",
    }
    assert request.user_agent == f"debatebox/{__version__} | Akismet/1.0"
    assert request.content_type.startswith("application/x-www-form-urlencoded")


def test_empty_fields_are_left_out(akismet_server: AkismetServer) -> None:
    client(akismet_server).check(AkismetComment(user_ip="198.51.100.2"))
    assert akismet_server.requests[0].fields == {
        "api_key": API_KEY,
        "blog": BLOG,
        "user_ip": "198.51.100.2",
        "comment_type": "comment",
        "blog_charset": "UTF-8",
    }


# -- failures: never a verdict, never the key -------------------------------------------


def test_wrong_key_is_unavailable_and_the_key_is_not_shown(
    akismet_server: AkismetServer,
) -> None:
    error = unavailable(lambda: client(akismet_server, WRONG_KEY).check(comment()))
    assert "invalid" in str(error)
    assert akismet_server.debug_help in str(error)
    assert WRONG_KEY not in str(error)
    assert WRONG_KEY not in repr(error)
    assert akismet_server.requests[0].fields["api_key"] == WRONG_KEY


def test_a_key_echoed_by_the_server_is_masked(akismet_server: AkismetServer) -> None:
    akismet_server.debug_help = f"Key {WRONG_KEY} is not valid"
    error = unavailable(lambda: client(akismet_server, WRONG_KEY).check(comment()))
    assert WRONG_KEY not in str(error)
    assert "[key]" in str(error)


def test_http_500_is_unavailable(akismet_server: AkismetServer) -> None:
    akismet_server.failure = "500"
    error = unavailable(lambda: client(akismet_server).check(comment()))
    assert "500" in str(error)
    assert API_KEY not in str(error)


def test_a_hanging_server_times_out(akismet_server: AkismetServer) -> None:
    akismet_server.failure = "hang"
    error = unavailable(lambda: client(akismet_server, timeout=0.2).check(comment()), within=1.5)
    assert "timed out" in str(error)
    assert len(akismet_server.requests) == 1


def test_a_stopped_server_is_unavailable(akismet_server: AkismetServer) -> None:
    akismet_server.stop()
    error = unavailable(lambda: client(akismet_server).check(comment()))
    assert "refused" in str(error).lower()
    akismet_server.start()
    assert not client(akismet_server).check(comment()).spam


def test_an_unknown_body_is_unavailable(akismet_server: AkismetServer) -> None:
    akismet_server.failure = "garbage"
    error = unavailable(lambda: client(akismet_server).check(comment()))
    assert "Bad Gateway" in str(error)


def test_an_account_alert_is_unavailable(akismet_server: AkismetServer) -> None:
    akismet_server.extra_headers = {
        "X-akismet-alert-code": "10003",
        "X-akismet-alert-msg": "Your subscription has lapsed.",
    }
    error = unavailable(lambda: client(akismet_server).check(comment()))
    assert error.alert_code == "10003"
    assert "subscription has lapsed" in str(error)


def test_a_missing_required_field_is_unavailable(akismet_server: AkismetServer) -> None:
    error = unavailable(lambda: client(akismet_server).check(AkismetComment()))
    assert "Missing required field: user_ip" in str(error)


# -- submit-spam / submit-ham, verify-key -----------------------------------------------


@pytest.mark.parametrize("method", ["submit-spam", "submit-ham"])
def test_reports_reach_their_path_with_the_comment(
    akismet_server: AkismetServer, method: str
) -> None:
    reported = comment(comment_author=GUARANTEED_SPAM, permalink="https://comments.test/p/1")
    akismet = client(akismet_server)
    submit = akismet.submit_spam if method == "submit-spam" else akismet.submit_ham
    assert submit(reported) is None

    [request] = akismet_server.requests
    assert request.path == f"/1.1/{method}"
    assert request.fields == {"api_key": API_KEY, "blog": BLOG, **reported.form_fields()}
    assert request.fields["comment_author"] == GUARANTEED_SPAM
    assert request.fields["permalink"] == "https://comments.test/p/1"


@pytest.mark.parametrize("method", ["submit_spam", "submit_ham"])
def test_refused_reports_are_unavailable(akismet_server: AkismetServer, method: str) -> None:
    akismet = client(akismet_server, WRONG_KEY)
    error = unavailable(lambda: getattr(akismet, method)(comment()))
    assert WRONG_KEY not in str(error)


def test_verify_key(akismet_server: AkismetServer) -> None:
    assert client(akismet_server).verify_key() is True
    assert client(akismet_server, WRONG_KEY).verify_key() is False
    first, second = akismet_server.requests
    assert first.path == second.path == "/1.1/verify-key"
    assert first.fields == {"api_key": API_KEY, "blog": BLOG}
    assert second.fields == {"api_key": WRONG_KEY, "blog": BLOG}


def test_verify_key_without_an_answer_is_unavailable(akismet_server: AkismetServer) -> None:
    akismet_server.failure = "500"
    unavailable(client(akismet_server).verify_key)


# -- the client itself ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["file:///etc/passwd", "ftp://rest.akismet.com", "nohost"])
def test_only_http_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError, match="http"):
        AkismetClient(API_KEY, BLOG, endpoint=endpoint)


def test_repr_does_not_show_the_key() -> None:
    akismet = AkismetClient(API_KEY, BLOG)
    assert API_KEY not in repr(akismet)
    assert akismet.endpoint == "https://rest.akismet.com"
