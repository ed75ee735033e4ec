"""Running debatebox under gunicorn.

``debatebox serve`` uses :func:`run_gunicorn`. Deployments that start gunicorn
themselves can load this module as its configuration to get the same worker set-up::

    gunicorn -c python:debatebox.server 'debatebox.standalone:create_app()'
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


def post_worker_init(worker: Any) -> None:
    """Move everything loaded at start-up out of the garbage collector's sight.

    A read of a big thread builds tens of thousands of short-lived objects; without
    this, the collector's full passes walk every module and class loaded at start-up
    as well, and those pauses make the slowest reads several times slower.
    """
    del worker
    gc.freeze()


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run_gunicorn(app: Flask, *, host: str, port: int, workers: int) -> None:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": bind,
        "workers": max(1, workers),
        "accesslog": "-",
        "post_worker_init": post_worker_init,
    }
    _Server(app, options).run()
