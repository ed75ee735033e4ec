"""The server-rendered comment form, for readers without JavaScript.

Flask-WTF supplies the CSRF protection; the fields' rules are not repeated here: the
form's data goes to :func:`debatebox.comments.post` like a JSON request's does.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField

from . import messages


class CommentForm(FlaskForm):
    """Field names match the JSON API's; the template labels them with the widget's words."""

    class Meta:
        csrf_field_name = "csrf_token"

    thread = HiddenField()
    title = HiddenField()
    url = HiddenField()
    parent = HiddenField()
    next = HiddenField()
    form_token = HiddenField()
    lang = HiddenField()
    homepage = StringField()
    name = StringField()
    email = StringField()
    website = StringField()
    body = TextAreaField()
    notify_replies = BooleanField()
    notify_all = BooleanField()

    def comment_data(self) -> dict[str, Any]:
        """The submitted fields in the shape :func:`debatebox.comments.post` takes."""
        data: dict[str, Any] = {
            name: getattr(self, name).data or ""
            for name in ("thread", "title", "url", "name", "email", "website", "body")
        }
        data["form_token"] = self.form_token.data or None
        data["homepage"] = self.homepage.data or ""
        data["lang"] = messages.language(self.lang.data)
        for name in ("notify_replies", "notify_all"):
            if getattr(self, name).data:
                data[name] = True
        parent = (self.parent.data or "").strip()
        data["parent"] = int(parent) if parent.isascii() and parent.isdigit() else None
        if parent and data["parent"] is None:
            data["parent"] = parent  # let validation name the problem
        return data
