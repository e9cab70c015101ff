"""Each role's allowed and refused requests, secrets, token expiry and revocation: real
HTTP requests to a real server process."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mlrig.exceptions import InputError, StoreError
from mlrig.models import Component, ComponentType, Stack
from mlrig.stores.rest import Http, RestStore
from mlrig.testing.server import make_token

A = ComponentType.ARTIFACT_STORE
ALERTER = ComponentType.ALERTER


def call(server: Any, token: str | None, method: str, path: str, body: Any = None
         ) -> tuple[int, Any]:
    http = Http(server.url, token)
    try:
        status, answer, _ = http.request(method, "/api/v1" + path, body)
    finally:
        http.close()
    return status, answer


READS = [("GET", "/store"), ("GET", "/stacks"), ("GET", "/components/artifact_store"),
         ("GET", "/flavors/orchestrator"), ("GET", "/whoami")]
WRITE = ("POST", "/store/transactions",
         {"reads": {}, "ops": [{"op": "create_component", "component": Component(
             A, "lake", "local", {"path": "/tmp/lake"}).to_dict()}]})
ADMIN = [("GET", "/users"), ("GET", "/tokens"), ("GET", "/audit"),
         ("POST", "/users", {"name": "dora", "role": "viewer"})]


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_each_role_is_allowed_and_refused_what_it_should(server, role: str) -> None:  # type: ignore[no-untyped-def]
    token = make_token(server, f"t-{role}", role)
    for method, path in READS:
        status, answer = call(server, token, method, path)
        assert status == 200, (path, answer)
    status, answer = call(server, token, *WRITE)
    if role == "viewer":
        assert status == 403
        assert answer["error"] == (f"Permission denied: this needs the 'write' permission, "
                                   f"which the token 't-{role}' of user '{role}-user' does "
                                   "not have.")
    else:
        assert status == 200, answer
    for method, path, *body in ADMIN:
        status, answer = call(server, token, method, path, *body)
        if role == "admin":
            assert status == 200, (path, answer)
        else:
            assert status == 403 and "'admin' permission" in answer["error"], (path, answer)


def test_no_anonymous_access_but_health(server) -> None:  # type: ignore[no-untyped-def]
    status, body = call(server, None, "GET", "/health")
    assert status == 200 and body["status"] == "ok"
    for method, path in READS:
        status, answer = call(server, None, method, path)
        assert status == 401 and "needs a token" in answer["error"]
    status, answer = call(server, "mlrig_0123456789ab_" + "A" * 43, "GET", "/store")
    assert status == 401 and answer["error"] == "The token is not valid for this mlrig server."


def test_secret_values_need_the_secrets_permission(server) -> None:  # type: ignore[no-untyped-def]
    admin = RestStore(server.url, token=server.admin_token)
    with admin.write() as txn:
        txn.create_component(Component(ALERTER, "slack", "slack", {"slack_token": "xoxb-1",
                                                                  "default_channel": "ml"}))
    editor = make_token(server, "plain", "editor")
    seen = make_token(server, "with-secrets", "editor", "--secrets", user="admin")
    _, doc = call(server, editor, "GET", "/components/alerter/slack")
    assert doc["alerter"]["config"] == {"slack_token": "********", "default_channel": "ml"}
    _, doc = call(server, seen, "GET", "/components/alerter/slack")
    assert doc["alerter"]["config"]["slack_token"] == "xoxb-1"
    _, snap = call(server, editor, "GET", "/store")
    (raw,) = [c for c in snap["components"] if c["name"] == "slack"]
    assert raw["config"]["slack_token"] != "xoxb-1"
    # an editor without the permission renames and copies it: the value it never saw is kept
    store = RestStore(server.url, token=editor)
    with store.write() as txn:
        component = txn.get_component(ALERTER, "slack")
        assert component is not None
        component.name = "chat"
        component.config["default_channel"] = "ops"
        txn.update_component(component, old_name="slack")
        txn.create_component(Component(ALERTER, "copy", "slack", dict(component.config)))
    with RestStore(server.url, token=seen).read() as view:
        for name in ("chat", "copy"):
            found = view.get_component(ALERTER, name)
            assert found is not None and found.config["slack_token"] == "xoxb-1", name
    # the audit log has who did it, with the secret masked
    _, audit = call(server, server.admin_token, "GET", "/audit")
    records = [r for r in audit["audit"] if r["keys"][0].startswith("component:")]
    assert {r["user"] for r in records} == {"admin", "editor-user"}
    assert "xoxb-1" not in str(records)
    rename = next(r for r in records if r["action"] == "update_component")
    assert rename["before"]["component:alerter:slack"]["config"]["slack_token"] == "********"
    assert rename["after"]["component:alerter:chat"]["config"]["default_channel"] == "ops"
    # the server's log has request lines, never a secret value or a token
    log = (server.config_dir / "server" / "server.log").read_text()
    assert "POST /api/v1/store/transactions" in log
    for secret in ("xoxb-1", editor, seen, server.admin_token):
        assert secret not in log


def test_an_expired_token_is_refused_in_one_line(server, member) -> None:  # type: ignore[no-untyped-def]
    short = make_token(server, "short", "editor", "--expires", "2s")
    assert call(server, short, "GET", "/store")[0] == 200
    time.sleep(2.5)
    status, answer = call(server, short, "GET", "/store")
    assert status == 401 and answer["error"].startswith("The token 'short' expired at ")
    dora = member("dora")
    assert dora("profile", "list").exit_code == 0
    refused = dora("profile", "create", "team", "-t", "rest", "--url", server.url,
                   "--token-env", "T", env={"T": short})
    assert refused.exit_code == 1
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("Error:")]
    assert "expired" in line and "mlrig login" in line


def test_a_revoked_token_is_refused_from_the_next_request(server, member, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mlrig.testing.runs import run_mlrig

    token = make_token(server, "laptop", "editor", user="erin")
    erin = member("erin")
    env = {"ERIN": token}
    assert erin("profile", "create", "team", "-t", "rest", "--url", server.url,
                "--token-env", "ERIN", env=env).exit_code == 0
    assert erin("--profile", "team", "stack", "list", env=env).exit_code == 0
    admin_env = {"MLRIG_CONFIG_PATH": str(server.config_dir)}
    listed = run_mlrig("server", "token", "list", "--store", server.store_url, "-o", "json",
                       env=admin_env)
    assert token not in listed.stdout and "last_used" in listed.stdout
    revoked = run_mlrig("server", "token", "revoke", "laptop", "--store", server.store_url,
                        env=admin_env)
    assert revoked.exit_code == 0, revoked.output
    after = erin("--profile", "team", "stack", "list", env=env)
    assert after.exit_code == 1
    (line,) = [x for x in after.stderr.splitlines() if x.startswith("Error:")]
    assert "The token 'laptop' was revoked at" in line and "mlrig login" in line
    with pytest.raises(StoreError, match="revoked"), RestStore(server.url, token=token).read():
        pass


def test_a_stale_write_is_refused_with_who_changed_it(server) -> None:  # type: ignore[no-untyped-def]
    editor = make_token(server, "other", "editor", user="frank")
    with RestStore(server.url, token=server.admin_token).write() as txn:
        txn.create_component(Component(A, "lake", "local", {"path": "/a"}))
    mine = RestStore(server.url, token=server.admin_token)
    theirs = RestStore(server.url, token=editor)
    with pytest.raises(StoreError) as caught, mine.write() as txn:
        component = txn.get_component(A, "lake")
        assert component is not None
        component.config["path"] = "/mine"
        # meanwhile, another writer changes the same component
        with theirs.write() as other:
            changed = other.get_component(A, "lake")
            assert changed is not None
            changed.config["path"] = "/theirs"
            other.update_component(changed)
        txn.update_component(component)
    message = caught.value.message
    assert message.startswith("The artifact store 'lake' was changed by 'frank' at ")
    assert message.endswith("after this command read it; nothing was changed.")
    with mine.read() as view:
        found = view.get_component(A, "lake")
        assert found is not None and found.config["path"] == "/theirs"
    # a write that read nothing another writer touched goes through
    with mine.write() as txn:
        txn.create_component(Component(A, "pond", "local", {"path": "/p"}))


def test_concurrent_writers_lose_no_update(server) -> None:  # type: ignore[no-untyped-def]
    import threading

    with RestStore(server.url, token=server.admin_token).write() as txn:
        txn.create_component(Component(A, "counter", "local", {"path": "/c", "n": 0}))
        txn.create_stack(Stack("s", {}))
    committed: list[int] = []
    conflicts: list[int] = []

    def worker(index: int) -> None:
        store = RestStore(server.url, token=server.admin_token)
        done = 0
        while done < 10:
            try:
                with store.write() as txn:
                    component = txn.get_component(A, "counter")
                    assert component is not None
                    component.config["n"] = int(component.config["n"]) + 1
                    txn.update_component(component)
                done += 1
            except StoreError as exc:
                assert "was changed by" in exc.message
                conflicts.append(index)
        committed.append(done)
        store.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with RestStore(server.url, token=server.admin_token).read() as view:
        found = view.get_component(A, "counter")
    assert found is not None and found.config["n"] == sum(committed) == 60


def test_documents_are_paged_filtered_and_described_by_openapi(server) -> None:  # type: ignore[no-untyped-def]
    with RestStore(server.url, token=server.admin_token).write() as txn:
        txn.create_component(Component(A, "lake", "local", {"path": "/a"}))
        for name in ("e", "b", "d", "a", "c"):
            txn.create_stack(Stack(name, {A: "lake"}))
    token = make_token(server, "pager", "viewer")
    seen, cursor = [], None
    while True:
        path = "/stacks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, doc = call(server, token, "GET", path)
        assert status == 200 and doc["format_version"] == 1 and len(doc["stacks"]) <= 2
        seen += [s["name"] for s in doc["stacks"]]
        cursor = doc["next_cursor"]
        if cursor is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    _, doc = call(server, token, "GET", "/stacks/c")
    assert doc == {"format_version": 1, "stack": {"name": "c", "active": False,
                                                  "components": {"artifact_store": "lake"}}}
    status, doc = call(server, token, "GET", "/stacks/zz")
    assert status == 404 and doc["error"] == "Stack 'zz' does not exist."
    _, doc = call(server, token, "GET", "/components/artifact-store?name=la")
    assert [c["name"] for c in doc["artifact_stores"]] == ["lake"]
    http = Http(server.url, None)
    try:
        status, spec, _ = http.request("GET", "/openapi.json")
        assert status == 200 and "/api/v1/stacks" in spec["paths"]
        status, _, headers = http.request("GET", "/docs")
    finally:
        http.close()
    assert status == 200 and headers["content-type"].startswith("text/html")


def test_a_secret_reference_never_lands_in_a_shown_field(server) -> None:  # type: ignore[no-untyped-def]
    with RestStore(server.url, token=server.admin_token).write() as txn:
        txn.create_component(Component(ALERTER, "slack", "slack", {"slack_token": "xoxb-2"}))
    editor = RestStore(server.url, token=make_token(server, "sneaky", "editor"))
    with editor.read() as view:
        found = view.get_component(ALERTER, "slack")
    assert found is not None
    reference = found.config["slack_token"]
    assert reference != "xoxb-2"
    with pytest.raises(InputError, match="another field"), editor.write() as txn:
        txn.create_component(Component(A, "leak", "local", {"path": reference}))
    with pytest.raises(InputError, match="another field"), editor.write() as txn:
        txn.create_component(Component(ALERTER, "leak", "slack", {"default_channel": reference}))
    with RestStore(server.url, token=server.admin_token).read() as view:
        assert view.get_component(A, "leak") is None
        assert view.get_component(ALERTER, "leak") is None
