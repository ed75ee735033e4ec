"""``debatebox demo``: a host page with a debate and the comment server, in one process."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from flask import Flask, render_template

from . import comments
from .standalone import create_app
from .web import get_state, session

DEMO_KEY = "/demo/should-cities-ban-cars"
DEMO_TITLE = "Should city centres ban private cars?"
_SEED = [
    (
        None,
        "Marta",
        "Cities that closed their centres to cars saw shops do *better*, not worse."
        " Footfall is what sells, and people on foot stop more often.",
    ),
    (
        0,
        "Jonas",
        "That depends on public transport. In my town the last bus leaves at 21:00."
        " A ban without buses is a ban on going out.",
    ),
    (1, "Marta", "Fair point: the order matters. Buses first, then the ban."),
    (
        None,
        "Priya",
        "Deliveries and disabled access are the hard part. Any ban needs clear"
        " exemptions:\n\n- deliveries before 10:00\n- blue-badge holders\n- taxis",
    ),
    (3, "Tom", "Exemptions are how bans die. Ghent kept them narrow and it worked."),
]


def create_demo_app(database: str | None = None, **config: Any) -> Flask:
    """The standalone server plus a demo article at ``/`` carrying the embed markup."""
    path = database or os.path.join(tempfile.gettempdir(), "debatebox-demo.sqlite3")
    instance = os.path.join(os.path.dirname(os.path.abspath(path)), "debatebox-demo-instance")
    settings = {
        "DEBATEBOX_DATABASE_URL": path if "://" in path else f"sqlite:///{os.path.abspath(path)}",
        **config,
    }
    app = create_app(settings, instance_path=instance)
    app.template_folder = "templates"
    app.view_functions.pop("index", None)

    @app.get("/", endpoint="index")
    def index() -> str:
        return render_template("debatebox/demo.html", key=DEMO_KEY, title=DEMO_TITLE)

    with app.test_request_context("/"):
        _seed()
    return app


def _seed() -> None:
    """Write a short sample debate into an empty demo thread."""
    state = get_state()
    db = session()
    from .threads import find

    if find(db, DEMO_KEY) is not None:
        return
    posted: list[int] = []
    for parent, name, body in _SEED:
        data: dict[str, Any] = {
            "thread": DEMO_KEY,
            "title": DEMO_TITLE,
            "name": name,
            "body": body,
            "email": f"{name.lower()}@example.org",
        }
        if parent is not None:
            data["parent"] = posted[parent]
        result = comments.post(state, db, data, comments.Client(trusted=True))
        posted.append(result.comment.id)
    db.close()
