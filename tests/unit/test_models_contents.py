"""The one contents type (:class:`mlrig.models.Contents`) and the one transfer engine that
moves it (:mod:`mlrig.core.transfer`: plan, apply, verify), on real local and SQLite
stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig.core.defaults import new_default_components
from mlrig.core.portability import STACK_KIND, Bundle, parse_bundle
from mlrig.core.transfer import contents_of, stack_contents, store_contents, transfer
from mlrig.core.transfer_plan import (
    CONFLICT,
    CREATE,
    RENAME,
    REUSE,
    USE_DEFAULT,
    USE_EXISTING,
    TransferPlan,
    plan_transfer,
)
from mlrig.exceptions import AlreadyExistsError, MlrigError, StoreError
from mlrig.models import Component, ComponentType, ContentComponent, Contents, FlavorRecord, Stack
from mlrig.stores.base import Store
from mlrig.stores.local import LocalStore
from mlrig.stores.sql import SqlStore

O, M, A = ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE, ComponentType.ARTIFACT_STORE
AL = ComponentType.ALERTER


def local(tmp_path: Path, name: str) -> LocalStore:
    store = LocalStore((tmp_path / name).as_uri())
    store.initialize()
    return store


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'sql' / 'mlrig.db'}")
    store.initialize()
    yield store
    store.close()


def fill(store: Store) -> None:
    with store.write() as txn:
        txn.create_flavor(FlavorRecord(O, "mine", "pkg.mod.Mine"))
        txn.create_component(Component(O, "o", "mine", {"nested": {"a": [1, 2]}}, id="1" * 32))
        txn.create_component(Component(M, "m", "sqlite", {"uri": "/m.db"}, id="2" * 32))
        txn.create_component(Component(A, "a", "local", {"path": "/a"}, id="3" * 32))
        txn.create_stack(Stack("dev", {O: "o", M: "m", A: "a"}))


def actions(plan: TransferPlan) -> dict[tuple[str, str], str]:
    """``{(kind, source name): action}`` of a plan."""
    return {(a.kind, a.source_name): a.action for a in plan.actions}


# ---------------------------------------------------------------------------- the type
def test_contents_compare_by_value_in_any_order() -> None:
    o = Component(O, "o", "local", {}, id="1" * 32)
    m = Component(M, "m", "sqlite", {"uri": "/m.db"}, id="2" * 32)
    mine = FlavorRecord(O, "mine", "pkg.Mine")
    theirs = FlavorRecord(AL, "chat", "pkg.Chat")
    one = Contents.of([Stack("b", {O: "o", M: "m"}), Stack("a", {O: "o"})], [o, m],
                      [mine, theirs])
    other = Contents.of([Stack("a", {O: "o"}), Stack("b", {M: "m", O: "o"})],
                        [Component(M, "m", "sqlite", {"uri": "/m.db"}, id="2" * 32), o],
                        [theirs, mine])
    assert one == other
    assert one.canonical().stacks[0].name == "a"
    assert one != Contents.of(one.stacks, [o, Component(M, "m", "sqlite", {"uri": "/x.db"},
                                                        id="2" * 32)], one.flavors)
    assert one != Contents.of(one.stacks, [o, Component(M, "m", "sqlite", {"uri": "/m.db"},
                                                        id="9" * 32)], one.flavors)
    assert one != Contents.of(one.stacks, [o, ContentComponent(m, ("password",))], one.flavors)
    assert one != Contents.of(one.stacks[:1], one.components, one.flavors)
    assert one.component(M, "m") == ContentComponent(m)
    assert one.component(M, "nope") is None


def test_summary_and_empty() -> None:
    assert Contents().empty and Contents().summary() == (
        "0 component(s), 0 stack(s) and 0 custom flavor(s)")
    contents = Contents.of([Stack("s", {})], [Component(O, "o", "local")],
                           [FlavorRecord(O, "mine", "pkg.Mine")])
    assert not contents.empty
    assert contents.summary() == "1 component(s), 1 stack(s) and 1 custom flavor(s)"


def test_a_bundle_is_the_file_format_around_contents(tmp_path: Path) -> None:
    store = local(tmp_path, "src")
    fill(store)
    with store.read() as view:
        dev = view.get_stack("dev")
        assert dev is not None
        contents = stack_contents(view, [dev])
    bundle = Bundle(STACK_KIND, contents)
    assert bundle.stack == dev
    read = parse_bundle(bundle.to_document())
    assert read.kind == STACK_KIND and read.contents == contents
    assert read.component(O, "o") == contents.component(O, "o")


def test_reading_a_store_marks_its_own_defaults(tmp_path: Path) -> None:
    store = local(tmp_path, "src")
    defaults = new_default_components(tmp_path / "config")
    with store.write() as txn:
        for component in defaults:
            txn.create_component(component)
        txn.create_component(Component(A, "lake", "local", {"path": "/lake"}))
    contents = contents_of(store)
    marked = {c.component.name: c.profile_default for c in contents.components
              if c.component.type is A}
    assert marked == {"default": True, "lake": False}


# ---------------------------------------------------------------------------- the plan
def test_into_an_empty_store_everything_is_created_with_its_id(tmp_path: Path,
                                                               sqlite: SqlStore) -> None:
    source = local(tmp_path, "src")
    fill(source)
    contents = contents_of(source)
    with sqlite.read() as view:
        plan = plan_transfer(view, contents)
    assert set(actions(plan).values()) == {CREATE}
    assert len(plan.actions) == 5  # a flavor, three components, a stack
    assert plan.written == contents


def test_plan_reuse_rename_use_existing_and_conflict(tmp_path: Path) -> None:
    target = local(tmp_path, "dst")
    with target.write() as txn:
        txn.create_component(Component(O, "o", "local", {}))  # identical: reused
        txn.create_component(Component(A, "a", "local", {"path": "/other"}))  # differs
        txn.create_stack(Stack("taken", {O: "o", A: "a"}))
    incoming = Contents.of(
        [Stack("dev", {O: "o", A: "a"})],
        [Component(O, "o", "local", {}), Component(A, "a", "local", {"path": "/a"})])

    with target.read() as view:
        refused = plan_transfer(view, incoming)
        renamed = plan_transfer(view, incoming, rename_conflicts=True)
        existing = plan_transfer(view, incoming, use_existing=True)
        taken = plan_transfer(view, Contents.of([Stack("taken", {O: "o"})],
                                                [Component(O, "o", "local", {})]))

    assert actions(refused) == {("component", "o"): REUSE, ("component", "a"): CONFLICT,
                                ("stack", "dev"): CREATE}
    with pytest.raises(AlreadyExistsError, match=r"^Nothing was changed: artifact store 'a': "):
        refused.raise_if_refused()

    assert actions(renamed)[("component", "a")] == RENAME
    assert [c.name for c in renamed.new_components] == ["a-2"]
    assert renamed.new_stacks == [Stack("dev", {O: "o", A: "a-2"})]

    assert actions(existing)[("component", "a")] == USE_EXISTING
    assert existing.new_components == []
    assert existing.new_stacks == [Stack("dev", {O: "o", A: "a"})]

    assert actions(taken)[("stack", "taken")] == CONFLICT
    assert not taken.ok


def test_plan_uses_the_target_profiles_own_defaults(tmp_path: Path) -> None:
    source, target = local(tmp_path, "src"), local(tmp_path, "dst")
    for store, config in ((source, "one"), (target, "two")):
        with store.write() as txn:
            parts = new_default_components(tmp_path / config)
            for component in parts:
                txn.create_component(component)
            txn.create_stack(Stack("default", {c.type: c.name for c in parts}))
    with source.read() as view:
        stack = view.get_stack("default")
        assert stack is not None
        contents = stack_contents(view, [Stack("copy", dict(stack.components))])
    with target.read() as view:
        plan = plan_transfer(view, contents)
    assert actions(plan)[("stack", "copy")] == CREATE
    by_type = {a.type: a.action for a in plan.actions if a.kind == "component"}
    assert by_type == {O: REUSE, M: USE_DEFAULT, A: USE_DEFAULT}
    assert plan.new_components == []


# ---------------------------------------------------------------------------- apply, verify
def test_transfer_writes_in_one_go_and_reads_back(tmp_path: Path, sqlite: SqlStore) -> None:
    source = local(tmp_path, "src")
    fill(source)
    contents = contents_of(source)
    plan = transfer(sqlite, contents, into_empty="the test store")
    assert contents_of(sqlite) == contents == plan.written
    with sqlite.read() as view:
        assert plan.differences(view, whole=True) == []


def test_transfer_into_a_store_that_is_not_empty_is_refused(tmp_path: Path,
                                                            sqlite: SqlStore) -> None:
    with sqlite.write() as txn:
        txn.create_component(Component(O, "here", "local"))
    before = contents_of(sqlite)
    with pytest.raises(AlreadyExistsError, match=(
            r"^The store at the test store is not empty \(it holds 1 component\(s\), 0 stack\(s\)"
            r" and 0 custom flavor\(s\)\); mlrig copies a whole profile only into an empty "
            r"store\.$")):
        transfer(sqlite, Contents.of(components=[Component(O, "o", "local")]),
                 into_empty="the test store")
    assert contents_of(sqlite) == before


def test_a_refused_plan_writes_nothing(tmp_path: Path) -> None:
    target = local(tmp_path, "dst")
    with target.write() as txn:
        txn.create_component(Component(A, "a", "local", {"path": "/other"}))
    before = contents_of(target)
    with pytest.raises(AlreadyExistsError, match="Nothing was changed"):
        transfer(target, Contents.of(
            [Stack("dev", {O: "o", A: "a"})],
            [Component(O, "o", "local", {}), Component(A, "a", "local", {"path": "/a"})]))
    assert contents_of(target) == before


@pytest.mark.parametrize("kind", ["local", "sqlite"])
def test_verify_names_what_does_not_read_back(tmp_path: Path, sqlite: SqlStore,
                                              kind: str) -> None:
    """A tuple is stored as a list by both store types: the component reads back
    differently from what was written, and the engine says which one."""
    store: Store = local(tmp_path, "dst") if kind == "local" else sqlite
    odd = Contents.of([Stack("dev", {O: "o"})],
                      [Component(O, "o", "local", {"items": (1, 2)})])
    with pytest.raises(StoreError, match=(
            r"^The target store does not read back what was written to it: the orchestrator "
            r"'o' reads back differently\.$")):
        transfer(store, odd)

    class Refused(MlrigError):
        pass

    again = local(tmp_path, f"again-{kind}")
    with pytest.raises(Refused, match=r"^the orchestrator 'o' reads back differently$"):
        transfer(again, odd, into_empty="x", unverified=lambda found: Refused("; ".join(found)))


def test_differences_finds_missing_changed_and_extra_objects(tmp_path: Path) -> None:
    source, target = local(tmp_path, "src"), local(tmp_path, "dst")
    fill(source)
    plan = transfer(target, contents_of(source), into_empty="dst")
    with target.write() as txn:
        txn.delete_stack("dev")
        txn.update_component(Component(M, "m", "sqlite", {"uri": "/changed.db"}, id="2" * 32))
        txn.create_component(Component(AL, "extra", "slack", {}))
    with target.read() as view:
        assert sorted(plan.differences(view)) == [
            "the metadata store 'm' reads back differently",
            "the stack 'dev' is missing",
        ]
        assert "the store also holds the alerter 'extra'" in plan.differences(view, whole=True)
    with target.read() as view:
        assert store_contents(view) != contents_of(source)
