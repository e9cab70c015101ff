"""Crashes: writers killed with SIGKILL at random points, many times.

After every kill: the store loads, every write the writer had acknowledged (its call had
returned) is present, every stack's components exist, every file parses, and the next
command gets the locks at once (``flock`` locks die with their process, so the lock files
left behind are harmless).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

import mlrig.fsutil
from mlrig.exceptions import MlrigError
from mlrig.models import Component, ComponentType
from mlrig.testing.clients import quiet_client
from mlrig.testing.files import assert_all_yaml_parses
from mlrig.testing.runs import env_for, mlrig_command, run_mlrig_in
from mlrig.testing.stores import store_of

A, O, M = ComponentType.ARTIFACT_STORE, ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE
FORK = multiprocessing.get_context("fork")


@pytest.fixture(autouse=True)
def short_lock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale lock would make the next command wait: fail fast instead of after 30 s."""
    monkeypatch.setattr(mlrig.fsutil, "DEFAULT_LOCK_TIMEOUT", 3.0)


def shared_stacks(c: Any, count: int = 3) -> None:
    """Component 'shared-x' used by stacks shared-0.. (renamed back and forth by the writer)."""
    c.register_component("artifact_store", "shared-x", "local", {"path": "/srv/shared"})
    for k in range(count):
        c.register_stack(f"shared-{k}", {"orchestrator": "default",
                                         "metadata_store": "default",
                                         "artifact_store": "shared-x"})


def rename_component(c: Any, type_: ComponentType, old: str, new: str) -> None:
    """A multi-file commit: the component file moves and every stack using it changes."""
    with store_of(c).write() as txn:
        component = txn.get_component(type_, old)
        assert component is not None
        txn.update_component(Component(type_, new, component.flavor, dict(component.config),
                                       id=component.id), old_name=old)


Op = tuple[str, str]


def plan(first: int, shared: str) -> Iterator[Op]:
    """The writer's operations, in order: the parent replays the same plan."""
    for i in range(first, first + 10_000):
        yield ("component", f"c{i}")
        yield ("stack", f"s{i}")
        if i % 2:
            yield ("delete_stack", f"s{i}")
            yield ("delete_component", f"c{i}")
        shared = "shared-y" if shared == "shared-x" else "shared-x"
        yield ("rename", shared)


def perform(c: Any, op: Op, shared: str) -> None:
    kind, name = op
    if kind == "component":
        c.register_component("artifact_store", name, "local", {"path": f"/srv/{name}"})
    elif kind == "stack":
        c.register_stack(name, {"orchestrator": "default", "metadata_store": "default",
                                "artifact_store": "c" + name[1:]})
    elif kind == "delete_stack":
        c.delete_stack(name)
    elif kind == "delete_component":
        c.delete_component(A, name)
    else:
        rename_component(c, A, shared, name)


def writer(config_dir: Path, conn: Connection, first: int, shared: str) -> None:
    """Runs the plan until killed; sends the index of every acknowledged operation."""
    c = quiet_client(config_dir)
    for index, op in enumerate(plan(first, shared)):
        perform(c, op, shared)
        if op[0] == "rename":
            shared = op[1]
        conn.send(index)


@dataclass(frozen=True)
class Model:
    components: frozenset[str]
    stacks: frozenset[str]
    shared: str

    def apply(self, op: Op) -> Model:
        kind, name = op
        if kind == "component":
            return replace(self, components=self.components | {name})
        if kind == "stack":
            return replace(self, stacks=self.stacks | {name})
        if kind == "delete_stack":
            return replace(self, stacks=self.stacks - {name})
        if kind == "delete_component":
            return replace(self, components=self.components - {name})
        return replace(self, shared=name)


def drain(conn: Connection) -> int:
    """How many operations the killed writer acknowledged."""
    count = 0
    while True:
        try:
            if not conn.poll(0):
                return count
            conn.recv()
            count += 1
        except (EOFError, OSError):
            return count


def await_acks(conn: Connection, wanted: int, iteration: int, limit: float = 120.0) -> int:
    """Waits until the writer has acknowledged ``wanted`` operations; returns how many were
    received. The kill then comes at a random moment of a later operation, so every
    iteration exercises writes however slow the machine is (no assertion on how many
    operations a time window allows: a writer that makes no progress at all for
    ``limit`` seconds is stuck, which is a failure)."""
    received = 0
    while received < wanted:
        if not conn.poll(limit):
            raise AssertionError(f"iteration {iteration}: the writer acknowledged "
                                 f"{received} of {wanted} operations in {limit:.0f} s")
        conn.recv()
        received += 1
    return received


def load_model(config_dir: Path) -> Model:
    """The store as the model sees it; checks that it loads and references are whole."""
    c = quiet_client(config_dir)
    with store_of(c).read() as view:
        components = {x.name for x in view.list_components(A)}
        stacks = {s.name: s for s in view.list_stacks()}
        for stack in stacks.values():
            for type_, name in stack.components.items():
                assert view.get_component(type_, name) is not None, (stack, type_, name)
    shared = components & {"shared-x", "shared-y"}
    assert len(shared) == 1, components  # renamed, never copied nor lost
    (current,) = shared
    for k in range(3):
        assert stacks[f"shared-{k}"].components[A] == current
    root = getattr(store_of(c), "root", None)
    assert root is None or not (root / ".journal.yaml").exists()
    fixed = {"default", "shared-0", "shared-1", "shared-2"}
    return Model(frozenset(components - {"default", current}), frozenset(set(stacks) - fixed),
                 current)


def test_writers_killed_at_random_points(config_dir: Path, store_type: str) -> None:
    """A writer (components, stacks, deletes, and a multi-file rename) is killed 40 times.
    Each time the store must be exactly the state after the acknowledged operations, or
    after one more (the one in flight when the kill came)."""
    c = quiet_client(config_dir)
    c.config()
    shared_stacks(c)
    rng = random.Random(os.environ.get("MLRIG_TEST_SEED", "crash-loop"))
    model = load_model(config_dir)
    kills, in_flight_landed = 40, 0
    for iteration in range(kills):
        first = iteration * 10_000  # each writer's names are new
        parent, child = FORK.Pipe(duplex=False)
        proc = FORK.Process(target=writer, args=(config_dir, child, first, model.shared),
                            daemon=True)
        proc.start()
        child.close()
        # some kills during start-up, most after a few acknowledged operations, at a random
        # moment of the next one
        acknowledged = await_acks(parent, rng.choice((0, 1, 2, 3, 5, 8)), iteration)
        time.sleep(rng.uniform(0.0, 0.05))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL, f"iteration {iteration}: writer ended early"
        acknowledged += drain(parent)
        parent.close()
        ops = plan(first, model.shared)
        for _ in range(acknowledged):
            model = model.apply(next(ops))
        one_more = model.apply(next(ops))
        on_disk = load_model(config_dir)
        assert on_disk in (model, one_more), f"iteration {iteration}: {acknowledged} acked"
        in_flight_landed += on_disk == one_more != model
        model = on_disk
        # the next writer starts at once: no lock is left held, and the store accepts writes
        probe = f"probe-{iteration}"
        c = quiet_client(config_dir)
        c.register_component("orchestrator", probe, "local", {})
        c.delete_component(O, probe)
    assert assert_all_yaml_parses(config_dir) > 0


def test_real_commands_killed_at_random_points(config_dir: Path, tmp_path: Path,
                                               store_type: str) -> None:
    """The real executable, killed at random moments of its run (start-up, reading,
    writing); a command that exited 0 before the kill is never lost, and the command right
    after the kill succeeds without waiting for a lock."""
    assert run_mlrig_in(config_dir, "profile", "list").exit_code == 0
    rng = random.Random(os.environ.get("MLRIG_TEST_SEED", "real-kills"))
    done: list[tuple[str, str]] = []
    env = env_for(config_dir, MLRIG_LOCK_TIMEOUT="5")
    rounds = 9 if store_type == "local" else 5  # SQL start-up is slower
    for i in range(rounds):
        kind = ("component", "stack", "profile")[i % 3]
        if kind == "component":
            args = ["artifact-store", "register", f"k{i}", "-f", "local", f"--path=/srv/{i}"]
        elif kind == "stack":
            args = ["stack", "register", f"k{i}", "-o", "default", "-m", "default", "-a",
                    "default"]
        else:
            args = ["profile", "create", f"k{i}"]
        proc = subprocess.Popen([*mlrig_command(), *args], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, 0.4))
        if proc.poll() == 0:
            done.append((kind, f"k{i}"))
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        after = run_mlrig_in(config_dir, "orchestrator", "register", f"after{i}", "-f", "local",
                          timeout=30, MLRIG_LOCK_TIMEOUT="5")
        assert after.exit_code == 0, after.stderr
        if i % 3 == 0:
            listing = run_mlrig_in(config_dir, "stack", "list", "-o", "json",
                                MLRIG_LOCK_TIMEOUT="5")
            assert listing.exit_code == 0, listing.stderr
    c = quiet_client(config_dir)
    components = {x.name for x in c.list_components("artifact_store")}
    stacks = {s.name for s in c.list_stacks()}
    profiles = set(c.config(reload=True).profiles)
    for kind, name in done:
        assert name in {"component": components, "stack": stacks, "profile": profiles}[kind]
    assert {x.name for x in c.list_components("orchestrator")} >= {f"after{i}"
                                                                   for i in range(rounds)}
    for name in profiles:
        assert store_of(c, name).is_initialized(), f"profile {name} lists a store that is missing"
    assert_all_yaml_parses(config_dir)


def _counts(args: tuple[Any, ...]) -> bool:
    """Replaces/unlinks of store files count as steps; those of read caches do not."""
    target = str(args[-1] if len(args) > 1 else args[0])
    return not target.endswith(".cache.json")


def _die_at(step: int) -> None:
    """In the child: SIGKILL ourselves just before the ``step``-th replace/unlink."""
    counter = {"n": 0}
    real_replace, real_unlink = os.replace, os.unlink

    def guard(args: tuple[Any, ...]) -> None:
        if _counts(args):
            counter["n"] += 1
            if counter["n"] == step:
                os.kill(os.getpid(), signal.SIGKILL)

    def replace(*args: Any, **kwargs: Any) -> None:
        guard(args)
        real_replace(*args, **kwargs)

    def unlink(*args: Any, **kwargs: Any) -> None:
        guard(args)
        real_unlink(*args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
    os.unlink = unlink  # type: ignore[assignment]


def _renamer(config_dir: Path, step: int) -> None:
    _die_at(step)
    rename_component(quiet_client(config_dir), A, "shared-x", "shared-y")
    os._exit(0)


def _count_steps(config_dir: Path) -> int:
    """How many replaces/unlinks a rename commit makes."""
    counter = {"n": 0}
    real_replace, real_unlink = os.replace, os.unlink

    def count(real: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any, **kwargs: Any) -> None:
            counter["n"] += _counts(args)
            real(*args, **kwargs)
        return wrapped

    os.replace, os.unlink = count(real_replace), count(real_unlink)  # type: ignore[assignment]
    try:
        rename_component(quiet_client(config_dir), A, "shared-x", "shared-y")
    finally:
        os.replace, os.unlink = real_replace, real_unlink  # type: ignore[assignment]
    return counter["n"]


def test_kill_at_every_step_of_a_multi_file_commit(tmp_path: Path, config_dir: Path) -> None:
    """Renaming a component used by stacks rewrites several files through the journal.
    Killed before the journal is in place: nothing happened. Killed at any later step: the
    next reader finishes the commit. Never a mix."""
    c = quiet_client(config_dir)
    c.config()
    shared_stacks(c)
    template = tmp_path / "template"
    subprocess.run(["cp", "-a", str(config_dir), str(template)], check=True)
    steps = _count_steps(config_dir)  # the copy is put back before each kill
    assert steps >= 4  # journal, component file, old file, stacks.yaml, journal removal
    for step in range(1, steps + 1):
        subprocess.run(["rm", "-rf", str(config_dir)], check=True)
        subprocess.run(["cp", "-a", str(template), str(config_dir)], check=True)
        proc = FORK.Process(target=_renamer, args=(config_dir, step))
        proc.start()
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL, step
        store_root = Path(store_of(quiet_client(config_dir)).root)  # type: ignore[attr-defined]
        journal_left = (store_root / ".journal.yaml").exists()
        assert journal_left == (step > 1), step
        if step == 2 and journal_left:
            # one of the recoveries is done by the real executable's first read
            listing = run_mlrig_in(config_dir, "stack", "describe", "shared-0", "-o", "json",
                                MLRIG_LOCK_TIMEOUT="5")
            assert listing.exit_code == 0, listing.stderr
            assert '"artifact_store": "shared-y"' in listing.stdout
        c = quiet_client(config_dir)
        names = {x.name for x in c.list_components("artifact_store")}
        expected = "shared-x" if step == 1 else "shared-y"
        assert names == {"default", expected}, (step, names)
        for k in range(3):
            assert c.get_stack(f"shared-{k}").components[A] == expected, step
        assert not (store_root / ".journal.yaml").exists()
        assert_all_yaml_parses(config_dir)
        # and the store takes writes again
        c.register_component("orchestrator", f"after-{step}", "local", {})


def _hold_lock(path: Path, ready: Any) -> None:
    lock = mlrig.fsutil.FileLock(path)
    with lock.exclusive():
        ready.set()
        time.sleep(60)


@pytest.mark.parametrize("which", ["store", "config"])
def test_a_lock_held_by_a_killed_process_is_free_at_once(config_dir: Path, which: str) -> None:
    c = quiet_client(config_dir)
    c.config()
    root = Path(store_of(c).root)  # type: ignore[attr-defined]
    path = root / ".lock" if which == "store" else config_dir / "config.lock"
    ready = FORK.Event()
    proc = FORK.Process(target=_hold_lock, args=(path, ready), daemon=True)
    proc.start()
    assert ready.wait(10)
    busy = mlrig.fsutil.FileLock(path, timeout=0.2)
    with pytest.raises(MlrigError, match="Timed out"), busy.exclusive():
        pass  # really held while the holder lives
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    assert path.exists()  # the lock file stays behind ...
    result = run_mlrig_in(config_dir, "orchestrator", "register", "later", "-f", "local",
                       MLRIG_LOCK_TIMEOUT="2")
    assert result.exit_code == 0, result.stderr  # ... and blocks nobody
    result = run_mlrig_in(config_dir, "profile", "create", "later", MLRIG_LOCK_TIMEOUT="2")
    assert result.exit_code == 0, result.stderr


# ----------------------------------------------------------------------------- lifecycle
# Operations that span a store and the global configuration (stack rename of the active
# stack, profile rename, create and delete) are killed at random points too; the next
# command's recovery must leave every pointer and every store consistent.
LOp = tuple[str, str, str]


@dataclass(frozen=True)
class World:
    stack: str  # the active stack of 'default': main-a or main-b
    side: str  # the other profile: side-x or side-y
    extra: frozenset[str]  # profiles k<i> created (and some deleted again)

    def apply(self, op: LOp) -> World:
        kind, _old, new = op
        if kind == "rename_stack":
            return replace(self, stack=new)
        if kind == "rename_profile":
            return replace(self, side=new)
        if kind == "create_profile":
            return replace(self, extra=self.extra | {new})
        return replace(self, extra=self.extra - {new})


def lifecycle_plan(first: int, world: World) -> Iterator[LOp]:
    stack, side = world.stack, world.side
    for i in range(first, first + 10_000):
        new_stack = "main-b" if stack == "main-a" else "main-a"
        yield ("rename_stack", stack, new_stack)
        stack = new_stack
        new_side = "side-y" if side == "side-x" else "side-x"
        yield ("rename_profile", side, new_side)
        side = new_side
        yield ("create_profile", "", f"k{i}")
        if i % 2:
            yield ("delete_profile", "", f"k{i}")


def lifecycle_writer(config_dir: Path, conn: Connection, first: int, world: World) -> None:
    c = quiet_client(config_dir)
    for index, (kind, old, new) in enumerate(lifecycle_plan(first, world)):
        if kind == "rename_stack":
            c.rename_stack(old, new)  # type: ignore[attr-defined]
        elif kind == "rename_profile":
            c.rename_profile(old, new)  # type: ignore[attr-defined]
        elif kind == "create_profile":
            c.create_profile(new)
        else:
            c.delete_profile(new)
        conn.send(index)


def load_world(config_dir: Path) -> World:
    """The state after recovery, checked for consistency on the way."""
    c = quiet_client(config_dir)
    config = c.config(reload=True)  # finishes interrupted operations
    assert list((config_dir / "pending").glob("*.yaml")) == []
    names = set(config.profiles)
    sides = names & {"side-x", "side-y"}
    assert len(sides) == 1, names
    (side,) = sides
    extra = frozenset(n for n in names if n.startswith("k"))
    assert names == {"default", side, *extra}
    # every listed profile has its store, and mlrig's profile dirs belong to listed profiles
    on_disk = {p.name for p in (config_dir / "profiles").iterdir()}
    assert on_disk == names, f"store dirs {sorted(on_disk)} vs profiles {sorted(names)}"
    for name in names:
        with store_of(c, name).read() as view:
            assert view.get_stack("default") is not None, name
    with store_of(c, side).read() as view:
        assert view.get_stack("side-stack") is not None
    # the active stack pointer follows the rename of the stack
    with store_of(c, "default").read() as view:
        stacks = {s.name for s in view.list_stacks()} & {"main-a", "main-b"}
    assert len(stacks) == 1, stacks
    (stack,) = stacks
    assert config.profiles["default"].active_stack == stack
    assert c.stack_choice().name == stack
    return World(stack, side, extra)


def test_lifecycle_writers_killed_at_random_points(config_dir: Path, store_type: str) -> None:
    """Stack rename (store + active-stack pointer), profile rename (directory + config),
    profile create and delete, killed 30 times at random points: after the next command's
    recovery the state is the acknowledged one or one operation further, and every pointer,
    store and directory agrees."""
    c = quiet_client(config_dir)
    c.config()
    c.register_stack("main-a", {"orchestrator": "default", "metadata_store": "default",
                                "artifact_store": "default"}, set_active=True)
    c.create_profile("side-x")
    side = quiet_client(config_dir, profile="side-x")
    side.register_stack("side-stack", {"orchestrator": "default",
                                       "metadata_store": "default",
                                       "artifact_store": "default"})
    rng = random.Random(os.environ.get("MLRIG_TEST_SEED", "lifecycle-kills"))
    model = load_world(config_dir)
    for iteration in range(30):
        first = iteration * 10_000
        parent, child = FORK.Pipe(duplex=False)
        proc = FORK.Process(target=lifecycle_writer, args=(config_dir, child, first, model),
                            daemon=True)
        proc.start()
        child.close()
        # the plan cycles rename stack / rename profile / create / (delete): waiting for 0-4
        # acknowledgements puts the kill inside each kind of operation
        acknowledged = await_acks(parent, rng.randrange(5), iteration)
        time.sleep(rng.uniform(0.0, 0.05))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        assert proc.exitcode == -signal.SIGKILL, f"iteration {iteration}: writer ended early"
        acknowledged += drain(parent)
        parent.close()
        ops = lifecycle_plan(first, model)
        for _ in range(acknowledged):
            model = model.apply(next(ops))
        one_more = model.apply(next(ops))
        on_disk = load_world(config_dir)
        assert on_disk in (model, one_more), (iteration, acknowledged, on_disk, model)
        model = on_disk
    assert_all_yaml_parses(config_dir)
