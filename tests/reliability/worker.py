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
    with client.transaction() as txn:
        stack = txn.get_stack(old)
        assert stack is not None
        txn.update_stack(Stack(new, dict(stack.components)), old_name=old)


def main(worker: int, iterations: int) -> None:
    client = Client(profile="default", on_event=quiet)
    w = f"w{worker}"
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
            client.set_stack(f"{w}-r{i}", global_=True)
            say(op="set_stack", name=f"{w}-r{i}")
            client.create_profile(f"{w}-p{i}")
            say(op="profile", name=f"{w}-p{i}")
            client.set_profile(f"{w}-p{i}", global_=True)
            say(op="set_profile", name=f"{w}-p{i}")
            if i % 2 == 1:
                # the previous iteration's objects: no longer active (this worker activated
                # newer ones since, and nobody else activates this worker's objects)
                prev = i - 1
                client.delete_stack(f"{w}-r{prev}")
                say(op="delete_stack", name=f"{w}-r{prev}")
                client.delete_component(ComponentType.ARTIFACT_STORE, f"{w}-a{prev}")
                say(op="delete_component", type="artifact_store", name=f"{w}-a{prev}")
                client.delete_component(ComponentType.ORCHESTRATOR, f"{w}-o{prev}")
                say(op="delete_component", type="orchestrator", name=f"{w}-o{prev}")
                client.delete_profile(f"{w}-p{prev}")
                say(op="delete_profile", name=f"{w}-p{prev}")
    except MlrigError as exc:
        say(op="error", message=f"{type(exc).__name__}: {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
