"""A writer process for the concurrency tests: ``python worker.py ID ITERATIONS``.

It works on the profile ``default`` of ``MLRIG_CONFIG_PATH`` (given as a flag, so other
workers changing the globally active profile do not move it) and prints one JSON line per
operation whose call returned (the acknowledged writes), or one ``error`` line. Its names
carry its id, so workers never compete for a name, only for the files and locks.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from mlrig.client import Client
from mlrig.exceptions import MlrigError
from mlrig.models import ComponentType, Stack
from mlrig.testing.stores import store_of


def quiet(*_: str) -> None:
    return None


def say(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def rename_stack(client: Client, old: str, new: str) -> None:
    rename = getattr(client, "rename_stack", None)
    if rename is not None:
        rename(old, new)
        return
    with store_of(client).write() as txn:
        stack = txn.get_stack(old)
        assert stack is not None
        txn.update_stack(Stack(new, dict(stack.components)), old_name=old)


def main(worker: int, iterations: int) -> None:
    client = Client(profile="default", on_event=quiet)
    w = f"w{worker}"
    previous: dict[str, str] = {}
    try:
        for i in range(iterations):
            client.register_component("artifact_store", f"{w}-a{i}", "local",
                                      {"path": f"/srv/{w}/{i}"})
            say(op="component", type="artifact_store", name=f"{w}-a{i}")
            client.register_component("orchestrator", f"{w}-o{i}", "local", {})
            say(op="component", type="orchestrator", name=f"{w}-o{i}")
            client.register_stack(f"{w}-s{i}", {"orchestrator": f"{w}-o{i}",
                                                "metadata_store": "default",
                                                "artifact_store": f"{w}-a{i}"})
            say(op="stack", name=f"{w}-s{i}", orchestrator=f"{w}-o{i}",
                artifact_store=f"{w}-a{i}")
            rename_stack(client, f"{w}-s{i}", f"{w}-r{i}")
            say(op="rename_stack", old=f"{w}-s{i}", new=f"{w}-r{i}")
            artifact = f"{w}-a{i}"
            if hasattr(client, "rename_component"):  # a multi-file commit: the stack follows
                client.rename_component("artifact_store", artifact, f"{w}-b{i}")
                say(op="rename_component", type="artifact_store", old=artifact,
                    new=f"{w}-b{i}")
                artifact = f"{w}-b{i}"
            client.set_stack(f"{w}-r{i}", global_=True)
            say(op="set_stack", name=f"{w}-r{i}")
            profile = f"{w}-p{i}"
            client.create_profile(profile)
            say(op="profile", name=profile)
            if hasattr(client, "rename_profile"):  # moves the store directory too
                client.rename_profile(profile, f"{w}-q{i}")
                say(op="rename_profile", old=profile, new=f"{w}-q{i}")
                profile = f"{w}-q{i}"
            client.set_profile(profile, global_=True)
            say(op="set_profile", name=profile)
            if i % 2 == 1:
                # the previous iteration's objects: no longer active (this worker activated
                # newer ones since, and nobody else activates this worker's objects)
                client.delete_stack(previous["stack"])
                say(op="delete_stack", name=previous["stack"])
                client.delete_component(ComponentType.ARTIFACT_STORE, previous["artifact"])
                say(op="delete_component", type="artifact_store", name=previous["artifact"])
                client.delete_component(ComponentType.ORCHESTRATOR, f"{w}-o{i - 1}")
                say(op="delete_component", type="orchestrator", name=f"{w}-o{i - 1}")
                client.delete_profile(previous["profile"])
                say(op="delete_profile", name=previous["profile"])
            previous = {"stack": f"{w}-r{i}", "artifact": artifact, "profile": profile}
    except MlrigError as exc:
        say(op="error", message=f"{type(exc).__name__}: {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
