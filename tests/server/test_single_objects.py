"""One object at a time over HTTP: GET gives the object's revision as its ETag; PUT and
DELETE change it only at the revision the caller read (If-Match), create only what does not
exist (If-None-Match: *), and refuse a write with neither. Real requests to a real server."""

from __future__ import annotations

from typing import Any

from mlrig.stores.rest import Http
from mlrig.testing.server import make_token

LAKE = "/components/artifact_store/lake"


def call(server: Any, token: str, method: str, path: str, body: Any = None,
         **headers: str) -> tuple[int, Any, dict[str, str]]:
    http = Http(server.url, token)
    try:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        return http.request(method, "/api/v1" + path, body, headers=sent)
    finally:
        http.close()


def test_writes_of_one_object_need_the_revision_they_read(server) -> None:  # type: ignore[no-untyped-def]
    ann = make_token(server, "ann", "editor", user="ann")
    bob = make_token(server, "bob", "editor", user="bob")
    body = {"flavor": "local", "config": {"path": "/data/lake"}}

    status, doc, _ = call(server, ann, "PUT", LAKE, body)
    assert status == 428 and "If-Match" in doc["error"] and "nothing was changed" in doc["error"]
    assert call(server, ann, "GET", LAKE)[0] == 404

    status, doc, headers = call(server, ann, "PUT", LAKE, body, If_None_Match="*")
    assert status == 200, doc
    assert doc["artifact_store"]["config"] == {"path": "/data/lake"}
    created = headers["etag"]
    status, again, _ = call(server, bob, "PUT", LAKE, body, If_None_Match="*")
    assert status == 412 and again["kind"] == "conflict"  # it exists now

    status, doc, headers = call(server, bob, "GET", LAKE)
    assert status == 200 and headers["etag"] == created
    status, doc, headers = call(server, bob, "PUT", LAKE,
                                {"flavor": "local", "config": {"path": "/data/bob"}},
                                If_Match=created)
    assert status == 200 and headers["etag"] != created
    bobs = headers["etag"]

    # ann still holds the first revision: her write is refused, naming who changed it
    status, doc, _ = call(server, ann, "PUT", LAKE,
                          {"flavor": "local", "config": {"path": "/data/ann"}},
                          If_Match=created)
    assert status == 412
    assert doc["error"].startswith("The artifact store 'lake' was changed by 'bob' at ")
    assert call(server, ann, "GET", LAKE)[1]["artifact_store"]["config"]["path"] == "/data/bob"

    # a bad value is refused by the flavor's schema, in one line, and changes nothing
    status, doc, _ = call(server, ann, "PUT", LAKE, {"flavor": "local", "config": {
        "path": "/x", "colour": "red"}}, If_Match=bobs)
    assert status == 422 and "colour" in doc["error"] and "\n" not in doc["error"]
    assert call(server, ann, "GET", LAKE)[2]["etag"] == bobs

    # stacks: a stack that uses it keeps it from being deleted
    status, doc, headers = call(server, ann, "PUT", "/stacks/dev",
                                {"components": {"artifact_store": "lake"}}, If_None_Match="*")
    assert status == 200 and doc["stack"]["components"] == {"artifact_store": "lake"}
    stack_tag = headers["etag"]
    status, doc, _ = call(server, ann, "DELETE", LAKE, If_Match=bobs)
    assert status == 409 and "dev" in doc["error"]
    status, doc, _ = call(server, ann, "DELETE", "/stacks/dev", If_Match='"0000"')
    assert status == 412
    assert call(server, ann, "DELETE", "/stacks/dev", If_Match=stack_tag)[0] == 200
    assert call(server, ann, "DELETE", LAKE, If_Match=bobs)[0] == 200
    assert call(server, ann, "GET", LAKE)[0] == 404

    # the audit log has every write that went through, and none of the refused ones
    status, doc, _ = call(server, server.admin_token, "GET", "/audit")
    actions = [(r["user"], r["action"]) for r in doc["audit"] if r.get("action", "").endswith(
        ("_component", "_stack"))]
    assert actions == [("ann", "create_component"), ("bob", "update_component"),
                       ("ann", "create_stack"), ("ann", "delete_stack"),
                       ("ann", "delete_component")]


def test_a_viewer_reads_the_etag_but_cannot_write(server) -> None:  # type: ignore[no-untyped-def]
    editor = make_token(server, "ed", "editor")
    viewer = make_token(server, "vi", "viewer")
    assert call(server, editor, "PUT", LAKE, {"flavor": "local", "config": {"path": "/l"}},
                If_None_Match="*")[0] == 200
    status, _, headers = call(server, viewer, "GET", LAKE)
    assert status == 200
    status, doc, _ = call(server, viewer, "PUT", LAKE,
                          {"flavor": "local", "config": {"path": "/v"}}, If_Match=headers["etag"])
    assert status == 403 and "write" in doc["error"]
    status, doc, _ = call(server, editor, "PUT", "/stacks/s",
                          {"components": {"orchestrator": "missing"}}, If_None_Match="*")
    assert status in (404, 422) and "missing" in doc["error"]
    status, doc, _ = call(server, editor, "PUT", LAKE, ["not", "an", "object"],
                          If_None_Match="*")
    assert status == 422
