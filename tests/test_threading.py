"""Posting, reading, nesting, numbering and paginating threads through the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Flask

from support import Api, count_queries, flatten


def test_post_then_read_shows_comment_rendered(api: Api) -> None:
    posted = api.posted(body="Hello *world*, see https://example.org", title="An article")
    comment = posted["comment"]
    assert comment["label"] == "1"
    assert comment["author"] == "Ann"
    assert "<em>world</em>" in comment["html"]
    assert 'rel="nofollow ugc noopener"' in comment["html"]
    assert posted["edit_token"]
    assert posted["thread"] == {"key": "/article", "count": 1}

    data = api.thread().get_json()
    assert data["thread"]["count"] == 1
    assert data["thread"]["title"] == "An article"
    assert [c["id"] for c in data["comments"]] == [comment["id"]]
    assert data["comments"][0]["html"] == comment["html"]
    assert data["next_cursor"] is None


def test_unknown_thread_reads_as_empty(api: Api) -> None:
    data = api.thread("/never-commented").get_json()
    assert data["comments"] == []
    assert data["thread"]["count"] == 0


def test_emoji_round_trip(api: Api) -> None:
    body = "Great point 👍🏽 — ça va? 日本語 🇪🇺"
    api.posted(body=body, name="Zoë 🦊")
    comment = api.thread().get_json()["comments"][0]
    assert comment["author"] == "Zoë 🦊"
    assert "👍🏽" in comment["html"] and "🇪🇺" in comment["html"]


def test_top_level_numbers_and_reply_labels(api: Api) -> None:
    first = api.posted(body="one")["comment"]
    second = api.posted(body="two")["comment"]
    reply = api.posted(body="re two", parent=second["id"])["comment"]
    reply2 = api.posted(body="re re two", parent=reply["id"])["comment"]
    third = api.posted(body="three")["comment"]
    assert [first["label"], second["label"], third["label"]] == ["1", "2", "3"]
    assert [reply["label"], reply2["label"]] == ["2.1", "2.2"]
    assert reply2["depth"] == 2


def test_replies_nest_up_to_the_cap_then_say_whom_they_answer(make_app: Any) -> None:
    app: Flask = make_app(DEBATEBOX_MAX_DEPTH=2)
    api = Api(app.test_client())
    chain = [api.posted(body="root", name="R")["comment"]]
    for level in range(1, 5):
        chain.append(
            api.posted(body=f"level {level}", name=f"L{level}", parent=chain[-1]["id"])["comment"]
        )
    root = api.thread().get_json()["comments"][0]
    level1 = root["replies"][0]
    level2 = level1["replies"][0]
    assert [c["depth"] for c in (root, level1, level2)] == [0, 1, 2]
    # Levels 3 and 4 are shown at depth 2, beside level 2, and say whom they answer.
    assert [c["author"] for c in level1["replies"]] == ["L2", "L3", "L4"]
    assert level1["replies"][1]["reply_to"] == {
        "id": chain[2]["id"],
        "author": "L2",
        "label": chain[2]["label"],
    }
    assert level1["replies"][2]["reply_to"]["author"] == "L3"
    assert level1["replies"][1]["depth"] == 2
    assert level1["replies"][0]["reply_to"] is None


def test_sort_newest_and_oldest(api: Api) -> None:
    ids = [api.posted(body=f"c{i}")["comment"]["id"] for i in range(3)]
    assert [c["id"] for c in api.thread(sort="oldest").get_json()["comments"]] == ids
    assert [c["id"] for c in api.thread(sort="newest").get_json()["comments"]] == ids[::-1]
    assert api.thread(sort="sideways").status_code == 422


def test_replies_stay_oldest_first_under_newest_sort(api: Api) -> None:
    root = api.posted(body="root")["comment"]
    replies = [api.posted(body=f"r{i}", parent=root["id"])["comment"]["id"] for i in range(3)]
    data = api.thread(sort="newest").get_json()
    assert [r["id"] for r in data["comments"][0]["replies"]] == replies


def test_pagination_by_top_level_comment_with_cursor(api: Api) -> None:
    roots = [api.posted(body=f"root {i}")["comment"] for i in range(5)]
    reply = api.posted(body="reply to 4th", parent=roots[3]["id"])["comment"]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        data = api.thread(**params).get_json()
        pages += 1
        seen.extend(c["id"] for c in flatten(data["comments"]))
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [r["id"] for r in roots[:4]] + [reply["id"], roots[4]["id"]]
    newest = api.thread(sort="newest", limit=2).get_json()
    assert [c["id"] for c in newest["comments"]] == [roots[4]["id"], roots[3]["id"]]
    assert newest["comments"][1]["replies"][0]["id"] == reply["id"]
    older = api.thread(sort="newest", limit=2, cursor=newest["next_cursor"]).get_json()
    assert [c["id"] for c in older["comments"]] == [roots[2]["id"], roots[1]["id"]]


def test_bad_paging_parameters(api: Api) -> None:
    assert api.thread(limit=0).status_code == 422
    assert api.thread(limit=100000).status_code == 422
    assert api.thread(limit="ten").status_code == 422
    assert api.thread(cursor="x1").status_code == 422
    assert api.client.get("/debatebox/api/comments").status_code == 422


def test_page_read_costs_a_fixed_number_of_queries(app: Flask, api: Api) -> None:
    engine = app.extensions["debatebox"].engine

    def queries_for_page() -> int:
        with count_queries(engine) as statements:
            response = api.thread(limit=50)
            assert response.status_code == 200
        return len(statements)

    api.posted(body="first")
    small = queries_for_page()
    parents: list[int] = []
    for i in range(60):
        parent = parents[i // 3] if i % 3 == 2 and parents else None
        data = api.posted(body=f"comment {i}", **({"parent": parent} if parent else {}))
        parents.append(data["comment"]["id"])
    large = queries_for_page()
    assert small == large == 3


def test_a_published_comment_is_inserted_with_its_number(app: Flask, api: Api) -> None:
    engine = app.extensions["debatebox"].engine
    assert api.form_token  # fetched before counting
    with count_queries(engine) as statements:
        parent = api.posted(body="parent")
        reply = api.posted(body="reply", parent=parent["comment"]["id"])
    assert (parent["comment"]["label"], reply["comment"]["label"]) == ("1", "1.1")
    comment_updates = [
        s.split("WHERE")[0] for s in statements if s.lstrip().startswith("UPDATE debatebox_comment")
    ]
    assert comment_updates and not any("status" in update for update in comment_updates)


def test_conditional_get_returns_304_until_something_changes(api: Api) -> None:
    first = api.posted(body="one")
    response = api.thread()
    etag = response.headers["ETag"]
    again = api.client.get(
        "/debatebox/api/comments",
        query_string={"thread": "/article"},
        headers={"If-None-Match": etag},
    )
    assert again.status_code == 304
    assert again.data == b""
    api.edit(first["comment"]["id"], first["edit_token"], "one, edited")
    changed = api.client.get(
        "/debatebox/api/comments",
        query_string={"thread": "/article"},
        headers={"If-None-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    # The ETag also depends on the page asked for.
    assert api.thread(sort="newest").headers["ETag"] != changed.headers["ETag"]


def test_batch_counts_in_one_query(app: Flask, api: Api) -> None:
    api.posted("/a")
    api.posted("/a")
    api.posted("/b")
    engine = app.extensions["debatebox"].engine
    with count_queries(engine) as statements:
        response = api.client.get(
            "/debatebox/api/counts",
            query_string=[("thread", "/a"), ("thread", "/b"), ("thread", "/none")],
        )
    assert response.get_json() == {"counts": {"/a": 2, "/b": 1, "/none": 0}}
    assert len(statements) == 1
    too_many = [("thread", f"/t{i}") for i in range(101)]
    assert api.client.get("/debatebox/api/counts", query_string=too_many).status_code == 400
    assert api.client.get("/debatebox/api/counts").status_code == 422


def test_thread_keys_are_case_sensitive(api: Api) -> None:
    api.posted("/Page")
    api.posted("/page")
    api.posted("/page")
    counts = api.client.get(
        "/debatebox/api/counts", query_string=[("thread", "/Page"), ("thread", "/page")]
    ).get_json()["counts"]
    assert counts == {"/Page": 1, "/page": 2}


def test_single_comment_and_preview(api: Api) -> None:
    posted = api.posted(body="**bold**")
    one = api.client.get(f"/debatebox/api/comments/{posted['comment']['id']}")
    assert one.status_code == 200
    assert one.get_json()["comment"]["html"] == "<p><strong>bold</strong></p>"
    assert api.client.get("/debatebox/api/comments/999999").status_code == 404
    preview = api.client.post("/debatebox/api/preview", json={"body": "_hi_ <b>x</b>"})
    assert preview.status_code == 200
    assert preview.get_json()["html"] == "<p><em>hi</em> &lt;b&gt;x&lt;/b&gt;</p>"
    assert api.thread().get_json()["thread"]["count"] == 1  # preview stored nothing


def test_avatar_is_a_local_svg(api: Api) -> None:
    avatar = api.posted()["comment"]["avatar"]
    assert avatar.startswith("http://comments.test/debatebox/avatar/")
    response = api.client.get(avatar.replace("http://comments.test", ""))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and b"http" not in response.data.replace(
        b"http://www.w3.org/2000/svg", b""
    )
    assert api.client.get("/debatebox/avatar/not-a-hash.svg").status_code == 404


def test_gravatar_is_opt_in(make_app: Any) -> None:
    app = make_app(DEBATEBOX_GRAVATAR=True)
    api = Api(app.test_client())
    avatar = api.posted()["comment"]["avatar"]
    assert avatar.startswith("https://www.gravatar.com/avatar/")
    assert "ann@example.org" not in avatar
    listed = api.thread().get_json()["comments"][0]["avatar"]
    assert listed == avatar


def test_wrong_method_and_unknown_path_answer_json(api: Api) -> None:
    wrong = api.client.put("/debatebox/api/comments", json={})
    assert wrong.status_code == 405
    assert wrong.get_json()["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
    for path in ("/debatebox/api/nothing-here", "/debatebox/api/"):
        missing = api.client.get(path)
        assert missing.status_code == 404
        assert missing.get_json()["error"] == "not_found"


def test_database_outage_is_503_not_500(make_app: Any, db_kind: str) -> None:
    app = make_app(DEBATEBOX_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/debatebox/api/comments?thread=/x")
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    assert response.headers["Retry-After"] == "5"
