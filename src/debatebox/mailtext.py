"""Writing emails: a plain-text and an HTML part from the same content.

Reader text goes into the plain part as the Markdown the reader typed and into the HTML
part only as the sanitised HTML stored with the comment; every other value is escaped
by the template. Names and titles in the subject are made single-line by
:func:`debatebox.outbox.one_line` when the message is queued.
"""

from __future__ import annotations

import dataclasses
import textwrap

import jinja2

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("debatebox", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclasses.dataclass(frozen=True)
class MailComment:
    author: str
    label: str | None
    #: The Markdown source, for the text part.
    text: str
    #: The sanitised HTML stored with the comment, for the HTML part.
    html: str
    link: str | None
    #: Shown above the comment (the thread's title in a digest).
    heading: str | None = None


@dataclasses.dataclass(frozen=True)
class Mail:
    subject: str
    lang: str
    intro: list[str]
    why: str
    comments: list[MailComment] = dataclasses.field(default_factory=list)
    view_label: str = ""
    #: (label, url) of the one button of the email.
    action: tuple[str, str] | None = None
    outro: list[str] = dataclasses.field(default_factory=list)
    #: (label, url) links in the footer: unsubscribe, manage.
    links: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def text_part(mail: Mail) -> str:
    out: list[str] = [*mail.intro, ""]
    heading = None
    for c in mail.comments:
        if c.heading and c.heading != heading:
            heading = c.heading
            out += [f"== {c.heading} ==", ""]
        out.append(f"{c.author}" + (f" #{c.label}" if c.label else ""))
        out += [textwrap.indent(c.text, "> ", lambda _line: True), ""]
        if c.link:
            out += [f"{mail.view_label}: {c.link}", ""]
    if mail.action:
        out += [f"{mail.action[0]}: {mail.action[1]}", ""]
    out += [*mail.outro, "", "-- ", mail.why]
    out += [f"{label}: {url}" for label, url in mail.links]
    return "\n".join(out).strip() + "\n"


def html_part(mail: Mail) -> str:
    # The template marks comment HTML ``safe``: it was sanitised when it was stored.
    return _env.get_template("debatebox/mail/message.html").render(
        **{field.name: getattr(mail, field.name) for field in dataclasses.fields(mail)}
    )
