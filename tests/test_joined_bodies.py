"""``GET /api/comments?html=joined``: a page's bodies in one string, for one parse."""

from __future__ import annotations

import re
from typing import Any

from support import Api, flatten

WRAPPER = re.compile(r'<div class="db-b" data-c="(\d+)">(.*?)</div>(?=<div class="db-b"|$)', re.S)


def test_joined_bodies_carry_every_comment_once(api: Api) -> None:
    first = api.posted(body="*One* with [a link](https://example.org)")["comment"]
    reply = api.posted(body="Two\n\n> quoted", parent=first["id"])["comment"]
    api.posted(body='<script>alert(1)</script> <img src=x onerror="alert(2)"> three')
    plain = api.thread().get_json()
    joined = api.thread(html="joined").get_json()

    expected = {c["id"]: c["html"] for c in flatten(plain["comments"])}
    assert all(c["html"] is None for c in flatten(joined["comments"]))
    found = {int(cid): html for cid, html in WRAPPER.findall(joined["bodies"])}
    assert found == expected
    assert {first["id"], reply["id"]} <= set(found)
    # Raw HTML in Markdown is shown as text, escaped, in the joined string too.
    assert "<script" not in joined["bodies"] and "<img" not in joined["bodies"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in joined["bodies"]
    assert [c["id"] for c in flatten(joined["comments"])] == list(found)


def test_joined_and_plain_pages_have_different_etags(api: Api) -> None:
    api.posted(body="Hello")
    plain = api.thread()
    joined = api.thread(html="joined")
    assert plain.headers["ETag"] != joined.headers["ETag"]
    again = api.client.get(
        "/debatebox/api/comments",
        query_string={"thread": "/article", "html": "joined"},
        headers={"If-None-Match": joined.headers["ETag"]},
    )
    assert again.status_code == 304
    stale: Any = api.client.get(
        "/debatebox/api/comments",
        query_string={"thread": "/article"},
        headers={"If-None-Match": joined.headers["ETag"]},
    )
    assert stale.status_code == 200 and "bodies" not in stale.get_json()
