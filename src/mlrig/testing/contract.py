"""The store contract: every store implementation must pass these tests.

Use it from a test module by subclassing and providing a ``store`` fixture that yields a new,
initialised, empty store::

    import pytest
    from mlrig.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(...)
            s.initialize()
            yield s
            s.close()
"""

from __future__ import annotations

from typing import Any

import pytest

from mlrig.exceptions import AlreadyExistsError, InUseError, NotFoundError
from mlrig.models import Component, ComponentType, FlavorRecord, Stack

O, M, A = ComponentType.ORCHESTRATOR, ComponentType.METADATA_STORE, ComponentType.ARTIFACT_STORE


def _component(type_: ComponentType, name: str, **config: Any) -> Component:
    flavor = {O: "local", M: "sqlite", A: "local"}.get(type_, "default")
    return Component(type_, name, flavor, dict(config))


def _basic(store: Any, names: tuple[str, str, str] = ("o", "m", "a")) -> Stack:
    with store.write() as txn:
        txn.create_component(_component(O, names[0]))
        txn.create_component(_component(M, names[1], uri="/tmp/m.db"))
        txn.create_component(_component(A, names[2], path="/tmp/a"))
        stack = Stack("s", {O: names[0], M: names[1], A: names[2]})
        txn.create_stack(stack)
    return stack


class StoreContract:
    """Behaviour shared by every store. Subclasses provide the ``store`` fixture."""

    def test_initialized(self, store: Any) -> None:
        assert store.is_initialized()
        store.initialize()  # idempotent
        with store.read() as view:
            assert view.list_stacks() == []
            assert view.list_components() == []

    def test_component_round_trip(self, store: Any) -> None:
        component = Component(A, "lake", "s3", {"path": "s3://b/p", "nested": {"k": [1, 2]}})
        with store.write() as txn:
            txn.create_component(component)
        with store.read() as view:
            loaded = view.get_component(A, "lake")
        assert loaded == component
        with store.read() as view:
            assert view.get_component(A, "nope") is None
            assert view.get_component(O, "lake") is None

    def test_duplicate_component_refused(self, store: Any) -> None:
        with store.write() as txn:
            txn.create_component(_component(O, "x"))
        with pytest.raises(AlreadyExistsError), store.write() as txn:
            txn.create_component(_component(O, "x"))
        with store.write() as txn:  # same name, other type: fine
            txn.create_component(_component(A, "x", path="/p"))

    def test_list_components_by_type_sorted(self, store: Any) -> None:
        with store.write() as txn:
            for name in ("b", "a", "c"):
                txn.create_component(_component(O, name))
            txn.create_component(_component(A, "z", path="/p"))
        with store.read() as view:
            assert [c.name for c in view.list_components(O)] == ["a", "b", "c"]
            assert {(c.type, c.name) for c in view.list_components()} == {
                (O, "a"), (O, "b"), (O, "c"), (A, "z")}

    def test_stack_round_trip(self, store: Any) -> None:
        stack = _basic(store)
        with store.read() as view:
            assert view.get_stack("s") == stack
            assert [s.name for s in view.list_stacks()] == ["s"]
            assert view.stacks_using(O, "o") == ["s"]
            assert view.stacks_using(O, "other") == []

    def test_stack_with_missing_component_refused(self, store: Any) -> None:
        with pytest.raises(NotFoundError), store.write() as txn:
            txn.create_stack(Stack("s", {O: "ghost"}))
        with store.read() as view:
            assert view.get_stack("s") is None

    def test_duplicate_stack_refused(self, store: Any) -> None:
        stack = _basic(store)
        with pytest.raises(AlreadyExistsError), store.write() as txn:
            txn.create_stack(stack)

    def test_component_in_use_cannot_be_deleted(self, store: Any) -> None:
        _basic(store)
        with pytest.raises(InUseError, match="'s'"), store.write() as txn:
            txn.delete_component(O, "o")
        with store.write() as txn:
            txn.delete_stack("s")
            txn.delete_component(O, "o")
        with store.read() as view:
            assert view.get_component(O, "o") is None

    def test_delete_missing(self, store: Any) -> None:
        with pytest.raises(NotFoundError), store.write() as txn:
            txn.delete_component(O, "nope")
        with pytest.raises(NotFoundError), store.write() as txn:
            txn.delete_stack("nope")

    def test_update_component_config(self, store: Any) -> None:
        _basic(store)
        with store.write() as txn:
            component = txn.get_component(A, "a")
            assert component is not None
            component.config["path"] = "/new"
            txn.update_component(component)
        with store.read() as view:
            loaded = view.get_component(A, "a")
            assert loaded is not None and loaded.config["path"] == "/new"

    def test_rename_component_follows_stacks(self, store: Any) -> None:
        _basic(store)
        with store.write() as txn:
            component = txn.get_component(O, "o")
            assert component is not None
            component.name = "o2"
            txn.update_component(component, old_name="o")
        with store.read() as view:
            assert view.get_component(O, "o") is None
            assert view.get_component(O, "o2") is not None
            stack = view.get_stack("s")
            assert stack is not None and stack.components[O] == "o2"

    def test_rename_stack(self, store: Any) -> None:
        stack = _basic(store)
        with store.write() as txn:
            txn.update_stack(Stack("t", dict(stack.components)), old_name="s")
        with store.read() as view:
            assert view.get_stack("s") is None
            assert view.get_stack("t") is not None

    def test_rename_stack_onto_existing_refused(self, store: Any) -> None:
        stack = _basic(store)
        with store.write() as txn:
            txn.create_stack(Stack("t", dict(stack.components)))
        with pytest.raises(AlreadyExistsError), store.write() as txn:
            txn.update_stack(Stack("t", dict(stack.components)), old_name="s")

    def test_failed_transaction_changes_nothing(self, store: Any) -> None:
        _basic(store)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), store.write() as txn:
            txn.create_component(_component(O, "new"))
            txn.delete_stack("s")
            raise Boom
        with store.read() as view:
            assert view.get_component(O, "new") is None
            assert view.get_stack("s") is not None

    def test_transaction_reads_its_own_writes(self, store: Any) -> None:
        with store.write() as txn:
            txn.create_component(_component(O, "o"))
            assert txn.get_component(O, "o") is not None
            assert [c.name for c in txn.list_components(O)] == ["o"]
            txn.delete_component(O, "o")
            assert txn.get_component(O, "o") is None

    def test_flavors(self, store: Any) -> None:
        flavor = FlavorRecord(O, "custom", "pkg.mod.Custom")
        with store.write() as txn:
            txn.create_flavor(flavor)
        with store.read() as view:
            assert view.list_flavors(O) == [flavor]
            assert view.list_flavors(A) == []
        with pytest.raises(AlreadyExistsError), store.write() as txn:
            txn.create_flavor(flavor)
        with store.write() as txn:
            txn.delete_flavor(O, "custom")
        with pytest.raises(NotFoundError), store.write() as txn:
            txn.delete_flavor(O, "custom")

    def test_unicode_names_and_values(self, store: Any) -> None:
        component = Component(A, "données-été", "local", {"path": "/tmp/ü/日本"})
        with store.write() as txn:
            txn.create_component(component)
        with store.read() as view:
            assert view.get_component(A, "données-été") == component

    def test_optional_component_types(self, store: Any) -> None:
        _basic(store)
        with store.write() as txn:
            txn.create_component(Component(ComponentType.ALERTER, "slack", "slack",
                                           {"slack_token": "t"}))
            stack = txn.get_stack("s")
            assert stack is not None
            stack.components[ComponentType.ALERTER] = "slack"
            txn.update_stack(stack)
        with store.read() as view:
            stack = view.get_stack("s")
            assert stack is not None and stack.components[ComponentType.ALERTER] == "slack"

    # paged listings: the order, filters and cursors of mlrig.stores.paging on every store
    PAGE_NAMES = ("b", "B", "a", "a b", "a-b", "ab", "_x", "Z", "é", "e", "10%", "1_0", "日本")

    def _fill_pages(self, store: Any) -> None:
        with store.write() as txn:
            for i, name in enumerate(self.PAGE_NAMES):
                txn.create_component(Component(O, name, "local" if i % 2 else "airflow", {}))
            txn.create_component(_component(A, "b", path="/p"))
            txn.create_component(_component(A, "a", path="/p"))
            txn.create_component(_component(M, "m", uri="/tmp/m.db"))

    def _walk(self, store: Any, limit: int, **filters: Any) -> list[list[tuple[Any, str]]]:
        pages: list[list[tuple[Any, str]]] = []
        after = None
        while True:
            with store.read() as view:
                found = view.page_components(after=after, limit=limit, **filters)
            if not found:
                return pages
            assert len(found) <= limit
            pages.append([(c.type, c.name) for c in found])
            after = (found[-1].type, found[-1].name)
            assert len(pages) < 100

    def test_page_components_order_and_cursor(self, store: Any) -> None:
        self._fill_pages(store)
        with store.read() as view:
            everything = [(c.type, c.name) for c in view.list_components()]
            one = view.page_components(O, limit=1000)
        expected_o = [(O, n) for n in sorted(self.PAGE_NAMES)]
        assert [(c.type, c.name) for c in one] == expected_o
        assert one[0] == Component(O, sorted(self.PAGE_NAMES)[0],
                                   one[0].flavor, {}, one[0].id)
        # all types: type order, then name by code point; the same as list_components
        order = list(ComponentType)
        expected_all = sorted(everything, key=lambda k: (order.index(k[0]), k[1]))
        assert everything == expected_all
        for limit in (1, 2, 5, len(expected_all) - 1, len(expected_all), 1000):
            pages = self._walk(store, limit)
            assert [k for p in pages for k in p] == expected_all
            assert all(len(p) == limit for p in pages[:-1])
            assert 1 <= len(pages[-1]) <= limit
        for limit in (1, 3, 1000):
            pages = self._walk(store, limit, type_=O)
            assert [k for p in pages for k in p] == expected_o

    def test_page_components_last_and_empty(self, store: Any) -> None:
        with store.read() as view:
            assert view.page_components(limit=10) == []
            assert view.page_components(O, limit=10) == []
            assert view.page_stacks(limit=10) == []
        self._fill_pages(store)
        last = max(self.PAGE_NAMES)
        with store.read() as view:
            assert view.page_components(O, after=(O, last), limit=10) == []
            # past the last orchestrator, an unfiltered page goes on with the next types
            rest = view.page_components(after=(O, last), limit=10)
            assert [(c.type, c.name) for c in rest] == [(M, "m"), (A, "a"), (A, "b")]
            # a cursor need not name an existing entry
            assert [c.name for c in view.page_components(O, after=(O, "a "), limit=2)] \
                == ["a b", "a-b"]
            assert [c.name for c in view.page_components(A, after=(O, "zzz"), limit=5)] \
                == ["a", "b"]
            assert view.page_components(O, after=(A, "a"), limit=5) == []

    def test_page_components_filters(self, store: Any) -> None:
        self._fill_pages(store)
        names = sorted(self.PAGE_NAMES)
        with store.read() as view:
            def page(**kw: Any) -> list[str]:
                return [c.name for c in view.page_components(O, limit=100, **kw)]

            assert page(name_contains="b") == [n for n in names if "b" in n]
            assert page(name_contains="B") == ["B"]  # case-sensitive
            assert page(name_contains="%") == ["10%"]  # no wildcards
            assert page(name_contains="_") == ["1_0", "_x"]
            assert page(name_contains="本") == ["日本"]
            local = [n for i, n in enumerate(self.PAGE_NAMES) if i % 2]
            assert page(flavor="local") == sorted(local)
            assert page(flavor="local", name_contains="a") == sorted(
                n for n in local if "a" in n)
            assert page(flavor="nope") == []
            first = view.page_components(O, limit=2, flavor="airflow")
            nxt = view.page_components(O, after=(O, first[-1].name), limit=2,
                                       flavor="airflow")
        airflow = sorted(n for i, n in enumerate(self.PAGE_NAMES) if not i % 2)
        assert [c.name for c in first + nxt] == airflow[:4]

    def test_page_stacks(self, store: Any) -> None:
        with store.write() as txn:
            txn.create_component(_component(O, "o"))
            txn.create_component(_component(A, "a", path="/p"))
            for name in self.PAGE_NAMES:
                txn.create_stack(Stack(name, {O: "o", A: "a"} if name != "Z" else {O: "o"}))
        names = sorted(self.PAGE_NAMES)
        with store.read() as view:
            assert [s.name for s in view.page_stacks(limit=100)] == names
            assert view.page_stacks(limit=100) == [view.get_stack(n) for n in names]
            collected: list[str] = []
            after = None
            while True:
                found = view.page_stacks(after=after, limit=4)
                if not found:
                    break
                assert len(found) <= 4
                collected += [s.name for s in found]
                after = found[-1].name
            assert collected == names
            assert view.page_stacks(after=names[-1], limit=3) == []
            assert [s.name for s in view.page_stacks(limit=100, name_contains="a")] == [
                n for n in names if "a" in n]
            assert [s.name for s in view.page_stacks(limit=100, name_contains="%")] == ["10%"]

    def test_page_in_a_transaction_sees_its_writes(self, store: Any) -> None:
        self._fill_pages(store)
        with store.write() as txn:
            txn.create_component(_component(O, "aa"))
            txn.delete_component(O, "a b")
            txn.create_stack(Stack("t", {O: "aa"}))
            assert [c.name for c in txn.page_components(O, after=(O, "a"), limit=3)] == [
                "a-b", "aa", "ab"]
            assert [s.name for s in txn.page_stacks(limit=5)] == ["t"]
        with store.read() as view:
            assert [c.name for c in view.page_components(O, after=(O, "a"), limit=2)] == [
                "a-b", "aa"]
