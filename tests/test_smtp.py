"""The SMTP transport against a real SMTP server (aiosmtpd on the loopback address)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import pytest

from debatebox.smtp import PermanentFailure, SmtpTransport, TemporaryFailure
from mailserver import PASSWORD, USER, MailServer

MakeServer = Callable[..., MailServer]


def letter(to: str = "reader@example.org", subject: str = "A reply") -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address("Comments", "comments", "comments.test")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"Body of {subject}.\n")
    return message


def failure(transport: SmtpTransport, message: EmailMessage) -> Exception:
    with pytest.raises((TemporaryFailure, PermanentFailure)) as caught:
        transport.send(message)
    return caught.value


# -- delivery ---------------------------------------------------------------------------


def test_plain_delivery_keeps_headers_body_and_non_ascii(mail_server: MailServer) -> None:
    message = EmailMessage()
    message["From"] = Address("Zoë Ünicode — Comments", "comments", "comments.test")
    message["To"] = Address("Jürgen Ægir", "reader", "example.org")
    message["Cc"] = "second@example.org"
    message["Bcc"] = "hidden@example.org"
    message["Subject"] = "Réponse à « votre commentaire » ✓ " + "long " * 20
    message["Message-ID"] = "<reply-42@comments.test>"
    message["List-Unsubscribe"] = (
        "<https://comments.test/debatebox/unsubscribe?token=abc.def>, "
        "<mailto:unsubscribe@comments.test?subject=unsubscribe>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("Grüße,\nsomeone answered: “yes”.\n")

    SmtpTransport.from_url(mail_server.url).send(message)

    [received] = mail_server.wait_for(1)
    got = received.message
    assert received.envelope_from == "comments@comments.test"
    assert sorted(received.recipients) == [
        "hidden@example.org",
        "reader@example.org",
        "second@example.org",
    ]
    assert "Bcc" not in got
    assert got["Subject"] == message["Subject"]
    assert got["From"].addresses[0].display_name == "Zoë Ünicode — Comments"
    assert got["To"].addresses[0].display_name == "Jürgen Ægir"
    assert got["Message-ID"] == "<reply-42@comments.test>"
    assert got["List-Unsubscribe"] == message["List-Unsubscribe"]
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got.get_content() == "Grüße,\nsomeone answered: “yes”.\n"
    assert (received.tls, received.login) == (False, None)


def test_auth_logs_in_with_percent_decoded_password(make_mail_server: MakeServer) -> None:
    server = make_mail_server(auth=True)
    assert "%40" in server.url  # the password's "@" travels encoded
    SmtpTransport.from_url(server.url).send(letter())
    assert server.wait_for(1)[0].login == USER


def test_refused_credentials_are_permanent_and_never_echo_the_password(
    make_mail_server: MakeServer,
) -> None:
    server = make_mail_server(auth=True)
    wrong = "Wr0ng-Secret"
    url = server.url.replace(f"{USER}:", f"{USER}x:").replace("s3cret", wrong)
    error = failure(SmtpTransport.from_url(url), letter())
    assert isinstance(error, PermanentFailure)
    assert error.code == 535
    assert str(error) == "535 5.7.8 Authentication credentials invalid"
    assert wrong not in str(error) and wrong not in repr(SmtpTransport.from_url(url))
    assert server.messages == []


def test_server_wanting_auth_refuses_a_url_without_credentials(
    make_mail_server: MakeServer,
) -> None:
    server = make_mail_server(auth=True)
    error = failure(SmtpTransport.from_url(f"smtp://{server.host}:{server.port}"), letter())
    assert isinstance(error, PermanentFailure)
    assert str(error) == "530 5.7.0 Authentication required"


# -- TLS --------------------------------------------------------------------------------


def test_starttls_with_the_private_ca_then_auth(make_mail_server: MakeServer) -> None:
    server = make_mail_server(tls="starttls", auth=True)
    assert "starttls=1" in server.url and "cafile=" in server.url
    SmtpTransport.from_url(server.url).send(letter())
    [received] = server.wait_for(1)
    assert (received.tls, received.login) == (True, USER)


def test_smtps_implicit_tls(make_mail_server: MakeServer) -> None:
    server = make_mail_server(tls="implicit", auth=True)
    assert server.url.startswith("smtps://")
    SmtpTransport.from_url(server.url).send(letter())
    [received] = server.wait_for(1)
    assert (received.tls, received.login) == (True, USER)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_an_untrusted_certificate_is_a_temporary_failure(
    make_mail_server: MakeServer, tls: str
) -> None:
    # Fixed on the server or in the settings, never by changing the message: keep it queued.
    server = make_mail_server(tls=tls)
    url = server.url.split("cafile=")[0].rstrip("?&")  # the system store knows no such CA
    error = failure(SmtpTransport.from_url(url), letter())
    assert isinstance(error, TemporaryFailure)
    assert str(error).startswith(f"TLS certificate (127.0.0.1:{server.port}): ")
    assert "local issuer" in str(error)
    assert server.messages == []


def test_the_certificate_must_name_the_host(make_mail_server: MakeServer) -> None:
    server = make_mail_server(tls="starttls", cert_names=("mail.example.org",))
    error = failure(SmtpTransport.from_url(server.url), letter())
    assert isinstance(error, TemporaryFailure)
    assert "mismatch, certificate is not valid for '127.0.0.1'" in str(error)
    assert server.messages == []


def test_starttls_required_but_not_offered_sends_nothing(mail_server: MailServer) -> None:
    error = failure(SmtpTransport.from_url(mail_server.url + "?starttls=1"), letter())
    assert isinstance(error, TemporaryFailure)
    assert "STARTTLS" in str(error)
    assert mail_server.messages == []


def test_smtps_to_a_plain_server_is_a_tls_failure(mail_server: MailServer) -> None:
    url = mail_server.url.replace("smtp://", "smtps://")
    error = failure(SmtpTransport.from_url(url), letter())
    assert isinstance(error, TemporaryFailure)
    assert str(error).startswith(f"TLS failed (127.0.0.1:{mail_server.port})")


# -- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "at", "kind", "text"),
    [
        (
            "451 4.3.0 Try again later",
            "RCPT",
            TemporaryFailure,
            "451 4.3.0 Try again later (a@b.c)",
        ),
        ("550 5.1.1 No such user", "RCPT", PermanentFailure, "550 5.1.1 No such user (a@b.c)"),
        ("452 4.3.1 Disk full", "DATA", TemporaryFailure, "452 4.3.1 Disk full"),
        ("554 5.7.1 Looks like spam", "DATA", PermanentFailure, "554 5.7.1 Looks like spam"),
    ],
)
def test_replies_are_classified_by_their_code(
    mail_server: MailServer, reply: str, at: str, kind: type[Exception], text: str
) -> None:
    mail_server.fail_with(reply, at=at)
    error = failure(SmtpTransport.from_url(mail_server.url), letter("a@b.c"))
    assert type(error) is kind
    assert str(error) == text
    assert error.code == int(reply[:3])  # type: ignore[attr-defined]
    assert mail_server.messages == []


def test_a_temporary_failure_passes(mail_server: MailServer) -> None:
    transport = SmtpTransport.from_url(mail_server.url)
    mail_server.fail_with("451 4.3.0 Try again later", times=1)
    assert isinstance(failure(transport, letter()), TemporaryFailure)
    transport.send(letter())
    assert len(mail_server.wait_for(1)) == 1


def test_a_stopped_server_is_a_quick_temporary_failure(mail_server: MailServer) -> None:
    transport = SmtpTransport.from_url(mail_server.url)
    mail_server.stop()
    started = time.monotonic()
    error = failure(transport, letter())
    assert time.monotonic() - started < 1
    assert isinstance(error, TemporaryFailure)
    assert str(error) == f"connection refused (127.0.0.1:{mail_server.port})"
    mail_server.start()
    transport.send(letter())
    assert len(mail_server.wait_for(1)) == 1


def test_a_silent_server_times_out(unused_listener: socket.socket) -> None:
    port = unused_listener.getsockname()[1]
    transport = SmtpTransport.from_url(f"smtp://127.0.0.1:{port}?timeout=0.2")
    started = time.monotonic()
    error = failure(transport, letter())
    assert time.monotonic() - started < 2
    assert isinstance(error, TemporaryFailure)
    assert str(error) == f"timed out (127.0.0.1:{port})"


@pytest.fixture
def unused_listener() -> Iterator[socket.socket]:
    """A socket that accepts TCP connections (backlog) but never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener


# -- batches ----------------------------------------------------------------------------


def test_a_batch_uses_one_connection_and_fails_only_the_refused_message(
    mail_server: MailServer,
) -> None:
    mail_server.refuse("gone@example.org")
    messages = [letter("a@example.org", "one"), letter("gone@example.org", "two")]
    messages.append(letter("c@example.org", "three"))

    results = SmtpTransport.from_url(mail_server.url).send_many(messages)

    assert [(r.ok, r.temporary, r.permanent) for r in results] == [
        (True, False, False),
        (False, False, True),
        (True, False, False),
    ]
    assert [r.message for r in results] == messages
    assert str(results[1].error) == "550 5.1.1 No such user here (gone@example.org)"
    received = mail_server.wait_for(2)
    assert [item.message["Subject"] for item in received] == ["one", "three"]
    assert received[0].connection == received[1].connection


def test_a_connection_lost_part_way_fails_the_rest_temporarily(mail_server: MailServer) -> None:
    mail_server.fail_with("421 4.3.2 Shutting down", times=1)  # the server hangs up after it
    messages = [letter(subject=f"n{n}") for n in range(3)]
    results = SmtpTransport.from_url(mail_server.url).send_many(messages)
    assert all(r.temporary for r in results)
    assert str(results[0].error) == "421 4.3.2 Shutting down (reader@example.org)"
    assert [str(r.error) for r in results[1:]] == [
        "not sent: connection lost (421 4.3.2 Shutting down (reader@example.org))"
    ] * 2
    assert mail_server.messages == []


def test_a_batch_to_a_stopped_server_fails_every_message(mail_server: MailServer) -> None:
    mail_server.stop()
    results = SmtpTransport.from_url(mail_server.url).send_many([letter(), letter()])
    assert [str(r.error) for r in results] == [
        f"connection refused (127.0.0.1:{mail_server.port})"
    ] * 2
    assert SmtpTransport.from_url(mail_server.url).send_many([]) == []


def test_some_recipients_refused_still_delivers_to_the_others(mail_server: MailServer) -> None:
    mail_server.refuse("gone@example.org")
    message = letter("a@example.org, gone@example.org")
    [result] = SmtpTransport.from_url(mail_server.url).send_many([message])
    assert result.ok
    assert result.refused == {"gone@example.org": "550 5.1.1 No such user here"}
    SmtpTransport.from_url(mail_server.url).send(message)  # no error either
    assert [item.recipients for item in mail_server.wait_for(2)] == [("a@example.org",)] * 2


def test_a_message_without_recipients_is_permanent(mail_server: MailServer) -> None:
    message = letter()
    del message["To"]
    error = failure(SmtpTransport.from_url(mail_server.url), message)
    assert isinstance(error, PermanentFailure)
    assert str(error) == "the message has no recipients"


# -- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", ("mail.example.org", 25, "plain", None, None, 30.0)),
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, "plain", None, None, 30.0)),
        ("smtp://[::1]:2525/", ("::1", 2525, "plain", None, None, 30.0)),
        (
            "smtp://u%40x.org:p%3Aw%2F%3F%23@mail.example.org?starttls=1",
            ("mail.example.org", 587, "starttls", "u@x.org", None, 30.0),
        ),
        (
            "smtp://u:pw@Mail.Example.org:25?starttls=true&timeout=2.5",
            ("mail.example.org", 25, "starttls", "u", None, 2.5),
        ),
        ("smtp://h?starttls=0", ("h", 25, "plain", None, None, 30.0)),
        (
            "smtps://u:pw@h?cafile=/etc/ssl/certs/ca-certificates.crt",
            ("h", 465, "tls", "u", "/etc/ssl/certs/ca-certificates.crt", 30.0),
        ),
        ("smtps://h:2465", ("h", 2465, "tls", None, None, 30.0)),
    ],
)
def test_good_urls(url: str, expected: tuple[Any, ...]) -> None:
    transport = SmtpTransport.from_url(url)
    assert (
        transport.host,
        transport.port,
        transport.security,
        transport.username,
        transport.cafile,
        transport.timeout,
    ) == expected


def test_the_password_is_percent_decoded_and_kept_out_of_repr() -> None:
    transport = SmtpTransport.from_url("smtp://u:p%3Aw%2F%3F%23@h?starttls=1")
    assert transport._password == "p:w/?#"
    assert repr(transport) == "<SmtpTransport starttls u@h:587>"


SECRET = "Hunter2-secret"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h", "SMTP URL must start with smtp:// or smtps://, not 'http'"),
        ("mail.example.org:25", "SMTP URL must start with smtp:// or smtps://"),
        (f"smtp://u:{SECRET}@", "SMTP URL has no host"),
        (f"smtp://u:{SECRET}@:25", "SMTP URL has no host"),
        (f"smtp://u:{SECRET}@h:smtp", "the port must be a number from 1 to 65535"),
        (f"smtp://u:{SECRET}@h:0", "the port must be a number from 1 to 65535"),
        (f"smtp://u:{SECRET}@h:70000", "the port must be a number from 1 to 65535"),
        (f"smtp://u:{SECRET}@h:", "the port must be a number from 1 to 65535"),
        (f"smtp://u:{SECRET}@h?tls=1", "unknown option 'tls' (known: starttls, cafile, timeout)"),
        (f"smtp://u:{SECRET}@h?starttls=1&starttls=1", "option 'starttls' is given twice"),
        (f"smtp://u:{SECRET}@h?starttls=maybe", "starttls must be 1 or 0"),
        (f"smtps://u:{SECRET}@h?starttls=1", "smtps:// already uses TLS; drop starttls"),
        (f"smtp://u:{SECRET}@h?cafile=/ca.pem", "cafile needs TLS"),
        (f"smtps://u:{SECRET}@h?cafile=/no/such/ca.pem", "cafile '/no/such/ca.pem' cannot be"),
        (f"smtp://u:{SECRET}@h?timeout=soon", "timeout must be a positive number of seconds"),
        (f"smtp://u:{SECRET}@h?timeout=0", "timeout must be a positive number of seconds"),
        (f"smtp://u:{SECRET}@h?timeout=inf", "timeout must be a positive number of seconds"),
        (f"smtp://u:{SECRET}@h/path", "a path or #fragment has no meaning"),
        (f"smtp://u:{SECRET}/x@h", "percent-encode '/', '?' and '#'"),
        (f"smtp://u:{SECRET}?x@h", "percent-encode '/', '?' and '#'"),
        (f"smtp://u:{SECRET}#x@h", "percent-encode '/', '?' and '#'"),
        ("smtp://user@h", "give both a user and a password (ASCII only), or neither"),
        (f"smtp://:{SECRET}@h", "give both a user and a password (ASCII only), or neither"),
        (f"smtp://u:{SECRET}%C3%A9@h", "give both a user and a password (ASCII only), or neither"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^SMTP URL") as caught:
        SmtpTransport.from_url(url)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET[:7] not in str(caught.value)


def test_mail_server_url_round_trips_the_password(make_mail_server: MakeServer) -> None:
    server = make_mail_server(auth=True)
    assert SmtpTransport.from_url(server.url)._password == PASSWORD
