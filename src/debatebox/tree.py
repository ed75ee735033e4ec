"""Arrange one page of comments as the nested discussion readers see.

Pure functions over plain dicts, so they are cheap and testable without a database.
Each comment dict needs ``id``, ``parent_id``, ``depth`` (its real depth, 0 for
top-level) and ``deleted``; the functions add ``replies`` (a list) and, for a reply shown
shallower than its real depth, ``reply_to`` (the dict of the comment it answers).

Rules:

* A reply appears below its parent as long as its depth is at most ``max_depth``.
* A deeper reply is shown at ``max_depth``, next to the reply it answers, and carries
  ``reply_to`` so the reader sees "in reply to NAME, #N".
* Replies are listed in the order given (publication order).
* A deleted comment stays as a tombstone only while a visible reply hangs below it;
  otherwise it is left out.
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]


def assemble(roots: list[Node], replies: list[Node], *, max_depth: int) -> list[Node]:
    """Nest ``replies`` below ``roots`` (page order) and return the visible roots."""
    by_id: dict[int, Node] = {}
    slot: dict[int, Node] = {}  # comment id -> node whose ``replies`` it joins
    for node in roots:
        node["replies"] = []
        by_id[node["id"]] = node
    for node in replies:
        node["replies"] = []
        by_id[node["id"]] = node

    placed: list[Node] = []
    for node in replies:
        parent = by_id.get(node["parent_id"])
        if parent is None:
            continue  # its parent is not public (held or spam): so is the branch
        if node["depth"] <= max_depth:
            target = parent
        else:
            found = slot.get(parent["id"])
            if found is None:
                continue  # the parent itself hangs below a comment that is not public
            target = found
            node["reply_to"] = parent
        slot[node["id"]] = target
        target["replies"].append(node)
        placed.append(node)

    keep = _with_visible_descendants(by_id, slot)
    if len(keep) != len(by_id):
        for node in placed:
            if node["replies"]:
                node["replies"] = [child for child in node["replies"] if child["id"] in keep]
        for node in roots:
            node["replies"] = [child for child in node["replies"] if child["id"] in keep]
    return [node for node in roots if node["id"] in keep]


def _with_visible_descendants(by_id: dict[int, Node], slot: dict[int, Node]) -> set[int]:
    """Ids to show: every live comment, and every tombstone above a live reply."""
    keep: set[int] = set()
    for node in by_id.values():
        if node["deleted"] or node["id"] in keep:
            continue
        current: Node | None = node
        while current is not None and current["id"] not in keep:
            if current["id"] not in slot and current["parent_id"] is not None:
                break  # an orphaned branch: its parent is not on this page
            keep.add(current["id"])
            parent_id = current["parent_id"]
            current = by_id.get(parent_id) if parent_id is not None else None
    return keep


def count(nodes: list[Node]) -> int:
    """Comments in a nested list, tombstones excluded."""
    total = 0
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if not node["deleted"]:
            total += 1
        stack.extend(node["replies"])
    return total
