"""The local store: one profile as human-readable YAML files in one directory.

Layout of a store root (the path of its ``file://`` URL)::

    store.yaml                       marker: format version; its presence means "a store"
    stacks.yaml                      every stack: {name: {component_type: component_name}}
    flavors.yaml                     custom flavors registered in this profile
    components/<type>/<name>.yaml    one file per component (id, flavor, config)
    .lock                            flock target; readers share it, writers hold it alone
    .journal.yaml                    only during a multi-file commit (redo log)

Nothing below the root may be a symbolic link mlrig did not create: a linked ``components``
or type directory is refused by reads and writes, and writes refuse a linked file (see
:mod:`mlrig.fsutil`), so the store never reads a foreign directory nor writes outside itself.
A component file must hold the component its place names (type directory and file name).
Every read checks the marker: a store of a newer format is refused, not read as this one.

A transaction buffers its writes. At commit, a single-file change is one atomic replace; a
change of several files first writes all of them to ``.journal.yaml`` (atomically: that is
the commit point), then applies them and removes the journal. Whoever next opens the store
finds an interrupted journal and finishes it, so every commit is all-or-nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from mlrig.exceptions import CorruptFileError, InputError, ReadOnlyError, StoreError
from mlrig.fsutil import (
    FileLock,
    atomic_write,
    check_version,
    dump_yaml,
    ensure_dir,
    fs_error,
    parse_yaml,
    read_text,
    read_yaml_mapping,
    read_yaml_mappings,
    remember_parsed,
    remove_file,
    symlink_error,
)
from mlrig.models import Component, ComponentType, FlavorRecord, ProfileConfig, Stack
from mlrig.names import validate_name
from mlrig.stores import integrity, local_layout, paging

if TYPE_CHECKING:
    from mlrig.events import Listener

FORMAT_VERSION = 1
_MARKER = "store.yaml"
_STACKS = "stacks.yaml"
_FLAVORS = "flavors.yaml"
_JOURNAL = ".journal.yaml"
#: in each component type's directory: the parsed copy of its files (fsutil.read_yaml_mappings)
_COMPONENTS_CACHE = ".components.cache.json"
_COMPONENTS = local_layout.COMPONENTS
#: the marker as mlrig writes it (``dump_yaml`` of its mapping), recognised without YAML
_MARKER_TEXT = f"version: {FORMAT_VERSION}\nkind: mlrig-local-store\n"


def path_from_url(url: str) -> Path:
    """``file:///abs/path`` or a plain path -> an absolute path."""
    if "\x00" in url:
        raise InputError("Invalid URL for store type 'local': it contains a NUL character.")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InputError(
                f"Invalid URL for store type 'local': {url} (a file URL must not name a host)."
            )
        raw = unquote(parsed.path)
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        raw = url
    else:
        raise InputError(
            f"Invalid URL for store type 'local': {url} (use a path or a file:// URL)."
        )
    if not raw:
        raise InputError("Invalid URL for store type 'local': the path is empty.")
    return Path(raw).expanduser().resolve()


def url_from_path(path: Path) -> str:
    return path.resolve().as_uri()


class LocalStore:
    """A profile kept as YAML files under one directory."""

    type = "local"

    def __init__(self, url: str) -> None:
        self.root = path_from_url(url)
        self.url = url_from_path(self.root)
        self._lock = FileLock(self.root / ".lock", root=self.root,
                              purpose=f"the store at '{self.root}'")

    # -- lifecycle -----------------------------------------------------------------------
    def is_initialized(self) -> bool:
        """A marker is there (whatever it is: reading it tells whether it is usable, and a
        store with a damaged marker is never initialised over)."""
        return os.path.lexists(self.root / _MARKER)

    def needs_repair(self) -> bool:
        """A half-applied commit (its journal) is finished by the store's next reader."""
        return (self.root / _JOURNAL).exists()

    def initialize(self) -> None:
        ensure_dir(self.root)
        with self._lock.exclusive():
            if self.is_initialized():
                self._check_marker()
                return
            if not (self.root / _STACKS).exists():
                atomic_write(self.root / _STACKS, dump_yaml(_stacks_doc({})), root=self.root)
            atomic_write(self.root / _MARKER, _MARKER_TEXT, root=self.root)

    def hold_writers(self) -> contextlib.AbstractContextManager[None]:
        """The store's write lock: no writer is half-way through a commit."""
        return self._lock.exclusive()

    def destroy(self, spare: Path | None = None) -> None:
        """Remove the files this store made — marker, index, flavors, component files, lock,
        journal, caches and temporary files — then its directories while they are empty.
        Anything else is kept where it is: a file mlrig did not make, a symbolic link (never
        followed), or the spared store (a SQLite file of a migrating profile, which is not
        one of this store's files anyway)."""
        root = self.root
        if not root.is_dir() or root.is_symlink():
            return
        with self._lock.exclusive():
            components = root / _COMPONENTS
            if _real_dir(components):
                for type_ in ComponentType:
                    type_dir = components / type_.value
                    if _real_dir(type_dir):
                        _remove_own_files(type_dir, lambda n: n.endswith(".yaml"))
                        _rmdir_if_empty(type_dir)
                _remove_own_files(components, lambda n: False)
                _rmdir_if_empty(components)
            own = {_MARKER, _STACKS, _FLAVORS, _JOURNAL}
            _remove_own_files(root, lambda n: n in own)
        # the lock file last, and outside the lock (nothing is left for it to guard)
        _remove_own_files(root, lambda n: n == ".lock")
        _rmdir_if_empty(root)

    def close(self) -> None:
        return None

    # -- access --------------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[LocalView]:
        self._require_store()
        if os.path.lexists(self.root / _JOURNAL):
            self._check_marker()  # never finish the commit of a newer mlrig
            try:
                with self._lock.exclusive():
                    self._recover()
            except ReadOnlyError:
                raise ReadOnlyError(
                    f"The store at '{self.root}' holds an unfinished commit "
                    f"('{self.root / _JOURNAL}') that must be finished before it is read, "
                    "but the store is read-only.",
                    hint="Run any mlrig command on it once where it is writable.",
                ) from None
        with self._lock.shared():
            # again inside the lock: the store may have moved while we waited
            self._check_marker()
            yield LocalView(self.root)

    @contextlib.contextmanager
    def write(self) -> Iterator[LocalTransaction]:
        self._require_store()
        with self._lock.exclusive():
            self._require_store()  # again: a profile rename may have moved it meanwhile
            self._check_marker()
            self._recover()
            txn = LocalTransaction(self.root)
            yield txn
            txn.commit()

    # -- internals -----------------------------------------------------------------------
    def _missing(self) -> StoreError:
        return StoreError(
            f"No mlrig store found at '{self.root}' (its {_MARKER} is missing).",
            hint="Restore the directory, or delete the profile and create it again.",
        )

    def _require_store(self) -> None:
        if not self.is_initialized():
            raise self._missing()

    def _check_marker(self) -> None:
        """The marker exists and names a format this mlrig knows (reads and writes alike:
        a newer store is refused, never read as this version)."""
        path = self.root / _MARKER
        text = read_text(path)
        if text is None:
            raise self._missing()
        if text != _MARKER_TEXT:
            check_version(parse_yaml(text, path), path, FORMAT_VERSION, "store marker")

    def _recover(self) -> None:
        """Finish a multi-file commit that a crashed process left half applied."""
        journal_path = self.root / _JOURNAL
        doc = read_yaml_mapping(journal_path, FORMAT_VERSION, "store journal", follow=False)
        if doc is None:
            return
        writes = doc.get("writes")
        if not isinstance(writes, dict) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str))
                for k, v in writes.items()):
            raise CorruptFileError(f"The store journal '{journal_path}' is malformed.")
        _apply(self.root, writes)
        remove_file(journal_path, root=self.root)


def _stacks_doc(stacks: dict[str, Any]) -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "stacks": stacks}


def _component_rel(type_: ComponentType, name: str) -> str:
    validate_name("component", name)
    return f"{_COMPONENTS}/{type_.value}/{name}.yaml"


def _check_targets(root: Path, writes: dict[str, str | None]) -> None:
    """Refuse, before anything is written, a commit that would have to write outside the
    store or through a symbolic link (a linked type directory or file): found half-way
    through a journal, it would leave the store with a journal nobody can finish."""
    for rel in writes:
        target = root / rel
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts:
            raise CorruptFileError(f"Refusing to write outside the store: '{target}'.")
        for depth in range(1, len(parts) + 1):
            path = root.joinpath(*parts[:depth])
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                break
            except OSError as exc:
                raise fs_error(exc, "write", target) from None
            if stat.S_ISLNK(mode):
                raise symlink_error(path)


def _apply(root: Path, writes: dict[str, str | None]) -> None:
    _check_targets(root, writes)
    for rel, content in writes.items():
        target = root / rel
        # below the root no link is followed (see fsutil.open_dir): checked again here
        if content is None:
            remove_file(target, root=root)
        else:
            atomic_write(target, content, root=root)


def _parse_stacks(doc: dict[str, Any], path: Path) -> dict[str, Stack]:
    """The stacks of a stack index (``stacks.yaml``), or CorruptFileError."""
    raw = doc.get("stacks") or {}
    try:
        return {str(name): Stack.from_dict(str(name), comps or {}) for name, comps in raw.items()}
    except (AttributeError, ValueError, TypeError) as exc:
        raise CorruptFileError(
            f"The stack index '{path}' is malformed ({exc}); mlrig will not overwrite it."
        ) from None


class LocalView:
    """Reads of a local store (inside the store's lock)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stacks: dict[str, Stack] | None = None
        self._flavors: list[FlavorRecord] | None = None
        self._type_dirs: dict[ComponentType, Path | None] = {}

    # stacks
    def _load_stacks(self) -> dict[str, Stack]:
        if self._stacks is None:
            path = self.root / _STACKS
            parsed: dict[str, dict[str, Stack]] = {}

            def parse(doc: dict[str, Any]) -> None:
                parsed[""] = _parse_stacks(doc, path)

            doc = read_yaml_mapping(path, FORMAT_VERSION, "stack index", cached=True,
                                    check=parse)
            self._stacks = parsed[""] if parsed else _parse_stacks(doc or _stacks_doc({}), path)
        return self._stacks

    def get_stack(self, name: str) -> Stack | None:
        return self._load_stacks().get(name)

    def list_stacks(self) -> list[Stack]:
        return list(self._load_stacks().values())

    def page_stacks(self, *, after: str | None = None, limit: int,
                    name_contains: str | None = None) -> list[Stack]:
        return paging.stack_page(self._load_stacks().values(), after=after, limit=limit,
                                 name_contains=name_contains)

    def stacks_using(self, type_: ComponentType, name: str) -> list[str]:
        return integrity.stacks_using(self.list_stacks(), type_, name)

    # components
    def _type_dir(self, type_: ComponentType) -> Path | None:
        """The directory of a component type; ``None`` if there is none yet. A symbolic link
        (of it, or of ``components``) is refused: its files would come from elsewhere."""
        if type_ in self._type_dirs:
            return self._type_dirs[type_]
        found: Path | None = self.root
        for part in (_COMPONENTS, type_.value):
            assert found is not None
            path = found / part
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                found = None
                break
            except OSError as exc:
                raise fs_error(exc, "read", path) from None
            if stat.S_ISLNK(mode):
                raise symlink_error(path)
            if not stat.S_ISDIR(mode):
                raise CorruptFileError(f"Expected a directory but found a file: '{path}'.")
            found = path
        self._type_dirs[type_] = found
        return found

    def _read_component(self, type_: ComponentType, name: str) -> Component | None:
        directory = self._type_dir(type_)
        if directory is None:
            return None
        path = directory / f"{name}.yaml"
        doc = read_yaml_mapping(path, FORMAT_VERSION, "component file")
        return None if doc is None else _component_of(type_, name, path, doc)

    def _read_components(self, type_: ComponentType, names: list[str]) -> list[Component]:
        """The components ``names`` of one type (those still there), their files read
        through the type directory's one JSON copy (:func:`read_yaml_mappings`): a listing
        of many components does not run the YAML parser on each file again."""
        directory = self._type_dir(type_)
        if directory is None or not names:
            return []
        docs = read_yaml_mappings(directory, names, FORMAT_VERSION, "component file",
                                  _COMPONENTS_CACHE)
        return [_component_of(type_, name, directory / f"{name}.yaml", doc)
                for name, doc in docs.items() if doc is not None]

    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        _component_rel(type_, name)  # validates the name
        return self._read_component(type_, name)

    def _component_names(self, type_: ComponentType) -> list[str]:
        directory = self._type_dir(type_)
        if directory is None:
            return []
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise fs_error(exc, "list", directory) from None
        names = sorted(
            e[: -len(".yaml")] for e in entries if e.endswith(".yaml") and not e.startswith(".")
        )
        for name in names:
            try:
                validate_name("component", name)
            except InputError as exc:
                raise CorruptFileError(
                    f"The component file '{directory / (name + '.yaml')}' has a name mlrig "
                    f"does not accept ({exc.message.rstrip('.')}).",
                    hint="Rename or remove the file.",
                ) from None
        return names

    def list_components(self, type_: ComponentType | None = None) -> list[Component]:
        types = [type_] if type_ is not None else list(ComponentType)
        result: list[Component] = []
        for t in types:
            result += self._read_components(t, self._component_names(t))
        return result

    def page_components(self, type_: ComponentType | None = None, *,
                        after: tuple[ComponentType, str] | None = None, limit: int,
                        name_contains: str | None = None, flavor: str | None = None
                        ) -> list[Component]:
        # the file names give the order and the name filter; only the files of the page
        # (and, with a flavor filter, those passed over) are parsed
        paging.check_limit(limit)
        result: list[Component] = []
        for t, start in paging.types_from(type_, after):
            for name in self._component_names(t):
                if (start is not None and name <= start) \
                        or (name_contains is not None and name_contains not in name):
                    continue
                component = self.get_component(t, name)
                if component is None or (flavor is not None and component.flavor != flavor):
                    continue
                result.append(component)
                if len(result) == limit:
                    return result
        return result

    # flavors
    def _load_flavors(self) -> list[FlavorRecord]:
        if self._flavors is None:
            path = self.root / _FLAVORS
            doc = read_yaml_mapping(path, FORMAT_VERSION, "flavor list") or {}
            try:
                self._flavors = [FlavorRecord.from_dict(f) for f in doc.get("flavors") or []]
            except (KeyError, ValueError, TypeError) as exc:
                raise CorruptFileError(
                    f"The flavor list '{path}' is malformed ({exc}); mlrig will not overwrite it."
                ) from None
        return self._flavors

    def list_flavors(self, type_: ComponentType | None = None) -> list[FlavorRecord]:
        return [f for f in self._load_flavors() if type_ is None or f.type is type_]


class LocalTransaction(LocalView):
    """A write transaction: buffered changes, committed all at once."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._components: dict[tuple[ComponentType, str], Component | None] = {}
        self._stacks_dirty = False
        self._flavors_dirty = False

    # reads see our own writes
    def get_component(self, type_: ComponentType, name: str) -> Component | None:
        key = (type_, name)
        if key in self._components:
            return self._components[key]
        return super().get_component(type_, name)

    def _read_components(self, type_: ComponentType, names: list[str]) -> list[Component]:
        read = {c.name: c for c in super()._read_components(
            type_, [n for n in names if (type_, n) not in self._components])}
        found = (self._components[(type_, n)] if (type_, n) in self._components
                 else read.get(n) for n in names)
        return [c for c in found if c is not None]

    def _component_names(self, type_: ComponentType) -> list[str]:
        names = set(super()._component_names(type_))
        for (t, n), value in self._components.items():
            if t is type_:
                if value is None:
                    names.discard(n)
                else:
                    names.add(n)
        return sorted(names)

    # components
    def create_component(self, component: Component) -> None:
        if self.get_component(component.type, component.name) is not None:
            raise integrity.component_exists_error(component.type, component.name)
        self._components[(component.type, component.name)] = component

    def update_component(self, component: Component, old_name: str | None = None) -> None:
        old = integrity.check_component_update(self, component, old_name)
        if old != component.name:
            self._components[(component.type, old)] = None
            if integrity.repoint_stacks(self._load_stacks().values(), component.type, old,
                                        component.name):
                self._stacks_dirty = True
        self._components[(component.type, component.name)] = component

    def delete_component(self, type_: ComponentType, name: str) -> None:
        if self.get_component(type_, name) is None:
            raise integrity.component_missing_error(type_, name)
        integrity.check_component_unused(self, type_, name)
        self._components[(type_, name)] = None

    # stacks
    def create_stack(self, stack: Stack) -> None:
        stacks = self._load_stacks()
        if stack.name in stacks:
            raise integrity.stack_exists_error(stack.name)
        integrity.check_stack_references(self, stack)
        stacks[stack.name] = Stack(stack.name, dict(stack.components))
        self._stacks_dirty = True

    def update_stack(self, stack: Stack, old_name: str | None = None) -> None:
        old = integrity.check_stack_update(self, stack, old_name)
        # at the same position in the file
        self._stacks = integrity.replace_stack(self._load_stacks(), stack, old)
        self._stacks_dirty = True

    def delete_stack(self, name: str) -> None:
        stacks = self._load_stacks()
        if name not in stacks:
            raise integrity.stack_missing_error(name)
        del stacks[name]
        self._stacks_dirty = True

    # flavors
    def create_flavor(self, flavor: FlavorRecord) -> None:
        flavors = self._load_flavors()
        if any(f.type is flavor.type and f.name == flavor.name for f in flavors):
            raise integrity.flavor_exists_error(flavor)
        flavors.append(flavor)
        self._flavors_dirty = True

    def delete_flavor(self, type_: ComponentType, name: str) -> None:
        flavors = self._load_flavors()
        kept = [f for f in flavors if not (f.type is type_ and f.name == name)]
        if len(kept) == len(flavors):
            raise integrity.flavor_missing_error(type_, name)
        self._flavors = kept
        self._flavors_dirty = True

    # commit
    def pending_writes(self) -> dict[str, str | None]:
        writes: dict[str, str | None] = {}
        for (type_, name), component in self._components.items():
            rel = _component_rel(type_, name)
            writes[rel] = (
                None if component is None
                else dump_yaml({"version": FORMAT_VERSION, **component.to_dict()})
            )
        if self._stacks_dirty:
            stacks = {s.name: s.to_dict() for s in self._load_stacks().values()}
            writes[_STACKS] = dump_yaml(_stacks_doc(stacks))
        if self._flavors_dirty:
            writes[_FLAVORS] = dump_yaml(
                {"version": FORMAT_VERSION,
                 "flavors": [f.to_dict() for f in self._load_flavors()]}
            )
        return writes

    def commit(self) -> None:
        writes = self.pending_writes()
        if not writes:
            return
        _check_targets(self.root, writes)
        if len(writes) == 1:
            _apply(self.root, writes)
        else:
            journal = self.root / _JOURNAL
            atomic_write(journal, dump_yaml({"version": FORMAT_VERSION, "writes": writes}),
                         root=self.root)
            _apply(self.root, writes)
            remove_file(journal, root=self.root)
        if self._stacks_dirty:
            stacks = {s.name: s.to_dict() for s in self._load_stacks().values()}
            remember_parsed(self.root / _STACKS, _stacks_doc(stacks))


class LocalBackend:
    """The ``local`` store type: a directory of YAML files (see :class:`LocalStore`)."""

    type = "local"

    def canonical_url(self, url: str) -> str:
        return url_from_path(path_from_url(url))

    def default_url(self, directory: Path) -> str:
        return url_from_path(directory)

    def validate_options(self, url: str, options: Mapping[str, Any]) -> dict[str, Any]:
        if options:
            raise InputError(
                f"The option(s) {', '.join(sorted(options))} apply to SQL stores only, not to "
                "store type 'local'."
            )
        return {}

    def location(self, url: str) -> Path | None:
        try:
            return path_from_url(url).resolve()
        except InputError:
            return None

    def lives_in(self, url: str, directory: Path) -> bool:
        return self.location(url) == directory.resolve()

    def relocated_url(self, url: str, old_dir: Path, new_dir: Path) -> str:
        return url_from_path(new_dir)

    def staging(self, url: str, directory: Path, token: str) -> tuple[Path, str, Path] | None:
        final = path_from_url(url)
        staging = final.parent / f".{final.name}.incoming-{token}"
        return staging, url_from_path(staging), final

    def private_paths(self, url: str) -> list[tuple[Path, int]]:
        root = self.location(url)
        if root is None:
            return []
        return [(Path(path), mode) for path, mode in local_layout.private_paths(str(root))]

    def open(self, profile: ProfileConfig, *, env: Mapping[str, str] | None,
             events: Listener | None) -> LocalStore:
        return LocalStore(profile.store_url)


def _component_of(type_: ComponentType, name: str, path: Path, doc: dict[str, Any]
                  ) -> Component:
    """The component the file ``path`` (``<name>.yaml`` in ``type_``'s directory) holds."""
    try:
        component = Component.from_dict(doc)
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptFileError(
            f"The component file '{path}' is malformed ({exc}); mlrig will not overwrite it."
        ) from None
    # a file listed under one name (or type) but holding another is refused, so that
    # listing and lookup agree
    if component.type is not type_:
        raise CorruptFileError(
            f"The component file '{path}' holds a {component.type.display_name}, but it "
            f"is in the directory of {type_.plural.replace('_', ' ')}; mlrig will not "
            "overwrite it.", hint="Move it to its type's directory, or fix its type.")
    if component.name != name:
        raise CorruptFileError(
            f"The component file '{path}' names the {type_.display_name} "
            f"'{component.name}', but its file name says '{name}'; mlrig will not "
            "overwrite it.",
            hint="Make the name inside the file match the file name, or restore it from "
            "a backup.")
    return component


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _is_own_scratch(name: str) -> bool:
    """A temporary file of an atomic write, or the JSON copy of a parsed YAML file."""
    return (name.startswith(".mlrig.") and name.endswith(".tmp")) or (
        name.startswith(".") and name.endswith(".cache.json"))


def _remove_own_files(directory: Path, own: Callable[[str], bool]) -> None:
    """Unlink the regular files of ``directory`` that ``own(name)`` says (or scratch files)
    the store made; links and anything else stay."""
    for entry in list(directory.iterdir()):
        if not (own(entry.name) or _is_own_scratch(entry.name)):
            continue
        if entry.is_symlink() or not entry.is_file():
            continue
        remove_file(entry, root=directory)


def _rmdir_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()
