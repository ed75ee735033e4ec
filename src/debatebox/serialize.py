"""The public JSON shape of threads and comments.

Only fields meant for everyone leave through here: never an email address, an IP or a
token (the edit token is added by the API to the poster's own response only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from .models import DELETED, Comment
from .threads import ThreadInfo


def timestamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def label(number: int | None, reply_number: int | None) -> str | None:
    if number is None:
        return None
    return str(number) if not reply_number else f"{number}.{reply_number}"


class Shaper:
    """Turns rows and nodes into public dicts for one request (one avatar base URL)."""

    def __init__(self, avatar_base: str, *, gravatar: bool = False) -> None:
        self.avatar_base = avatar_base
        self.gravatar = gravatar

    def avatar(self, author_hash: str, email: str | None = None) -> str:
        if self.gravatar and email:
            digest = hashlib.md5(email.encode(), usedforsecurity=False).hexdigest()
            return f"https://www.gravatar.com/avatar/{digest}?s=96&d=identicon"
        return f"{self.avatar_base}{author_hash}.svg"

    def node(self, node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """A nested comment from :func:`debatebox.threads.page`, replies included."""
        deleted = node["deleted"]
        reply_to = node.get("reply_to")
        return {
            "id": node["id"],
            "parent": node["parent_id"],
            "label": label(node["number"], node["reply_number"]),
            "depth": depth,
            "deleted": deleted,
            "status": node["status"],
            "author": None if deleted else node["author_name"],
            "website": None if deleted else (node["website"] or None),
            "avatar": None if deleted else self.avatar(node["author_hash"], node.get("email")),
            "html": "" if deleted else node["body_html"],
            "created": timestamp(node["created_at"]),
            "edited": timestamp(node["edited_at"]),
            "reply_to": None
            if reply_to is None
            else {
                "id": reply_to["id"],
                "author": None if reply_to["deleted"] else reply_to["author_name"],
                "label": label(reply_to["number"], reply_to["reply_number"]),
            },
            "replies": [self.node(child, depth + 1) for child in node["replies"]],
        }

    def comment(self, comment: Comment) -> dict[str, Any]:
        """A single stored comment, without replies (answers to post, edit, permalink)."""
        deleted = comment.status == DELETED
        return {
            "id": comment.id,
            "parent": comment.parent_id,
            "label": comment.label,
            "depth": comment.depth,
            "deleted": deleted,
            "status": comment.status,
            "author": None if deleted else comment.author_name,
            "website": None if deleted else (comment.website or None),
            "avatar": None if deleted else self.avatar(comment.author_hash, comment.email),
            "html": "" if deleted else comment.body_html,
            "created": timestamp(comment.created_at),
            "edited": timestamp(comment.edited_at),
            "reply_to": None,
            "replies": [],
        }


def thread(info: ThreadInfo | None, key: str) -> dict[str, Any]:
    if info is None:
        return {"key": key, "title": "", "url": "", "closed": False, "count": 0}
    return {
        "key": info.key,
        "title": info.title,
        "url": info.url,
        "closed": info.closed,
        "count": info.count,
    }


def join_bodies(comments: list[dict[str, Any]]) -> str:
    """Move every comment's HTML into one string, ``<div class="db-b" data-c="ID">…</div>``
    per comment, for clients that parse a page's bodies at once (the widget). Each
    comment's ``html`` becomes ``None``. The HTML is the sanitised, well-formed markup
    stored with the comment; the wrapper is made here around it, nothing else."""
    parts: list[str] = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if item["html"]:
                parts.append(f'<div class="db-b" data-c="{int(item["id"])}">{item["html"]}</div>')
            item["html"] = None
            walk(item["replies"])

    walk(comments)
    return "".join(parts)
