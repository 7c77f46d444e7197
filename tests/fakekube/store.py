"""In-memory objects with resourceVersions and server-side apply field ownership."""
from __future__ import annotations

import copy
import datetime
import threading
import uuid
from typing import Dict, List, Optional, Set, Tuple

from .resources import Kind, kind_of

Key = Tuple[str, str, str, str]          # group, plural, namespace ("" if cluster-scoped), name
Path = Tuple[str, ...]
_UNTRACKED = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}


class ApplyConflict(Exception):
    def __init__(self, conflicts: List[Tuple[str, str]]):
        super().__init__(conflicts)
        self.conflicts = conflicts     # (manager, ".field.path")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_paths(obj, prefix: Path = ()) -> Dict[Path, object]:
    """Leaves of a config; lists are atomic (good enough for what the plugin applies)."""
    out: Dict[Path, object] = {}
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            out.update(leaf_paths(value, prefix + (key,)))
    else:
        out[prefix] = obj
    return {p: v for p, v in out.items() if p not in _UNTRACKED and p[:1] != ("status",)}


def get_path(obj, path: Path):
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def set_path(obj: dict, path: Path, value) -> None:
    for part in path[:-1]:
        obj = obj.setdefault(part, {})
    obj[path[-1]] = copy.deepcopy(value)


def del_path(obj: dict, path: Path) -> None:
    parents = []
    for part in path[:-1]:
        if not isinstance(obj, dict) or part not in obj:
            return
        parents.append((obj, part))
        obj = obj[part]
    if isinstance(obj, dict):
        obj.pop(path[-1], None)
    for parent, part in reversed(parents):   # prune emptied maps
        if parent[part] == {}:
            del parent[part]


_MISSING = object()


def _overlaps(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _fields_v1(paths: Set[Path]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.objects: Dict[Key, dict] = {}
        # key -> manager -> (operation, owned paths)
        self.owners: Dict[Key, Dict[str, Tuple[str, Set[Path]]]] = {}
        self._rv = 1000
        self._writes = 0      # bumped on every change: the sorted lists cached by list() are then stale
        self._sorted: Dict[tuple, tuple] = {}

    def next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    @staticmethod
    def key_of(obj: dict) -> Key:
        kind = kind_of(obj)
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "") if kind.namespaced else ""
        return (kind.group, kind.plural, namespace or "", meta["name"])

    def put(self, obj: dict) -> dict:
        """Store as is (fixtures, test setup): fills uid/resourceVersion when missing."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        kind = kind_of(obj)
        if kind.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", _now())
        with self.lock:
            meta["resourceVersion"] = self.next_rv()
            self.objects[self.key_of(obj)] = obj
            self._writes += 1
        return obj

    def get(self, key: Key) -> Optional[dict]:
        with self.lock:
            obj = self.objects.get(key)
            return copy.deepcopy(obj) if obj is not None else None

    def delete(self, key: Key) -> Optional[dict]:
        with self.lock:
            self._writes += 1
            self.owners.pop(key, None)
            obj = self.objects.pop(key, None)
            if obj is not None and key[1] == "namespaces":
                for other in [k for k in self.objects if k[2] == key[3]]:
                    self.objects.pop(other, None)
                    self.owners.pop(other, None)
            return obj

    def list(self, group: str, plural: str, namespace: Optional[str], *, copy_items: bool = True) -> List[dict]:
        """The objects of one kind, sorted by namespace and name: deep copies, or with copy_items=False the
        stored objects themselves (read-only: list pages of a large store are served without copying it)."""
        with self.lock:
            key = (group, plural, namespace, len(self.objects), self._writes)
            cached = self._sorted.get((group, plural, namespace))
            if cached is None or cached[0] != key:
                items = [o for k, o in self.objects.items()
                         if k[0] == group and k[1] == plural and (namespace is None or k[2] == namespace)]
                items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
                cached = (key, items)
                self._sorted[(group, plural, namespace)] = cached
            items = cached[1]
            return [copy.deepcopy(o) for o in items] if copy_items else list(items)

    # --- field management ----------------------------------------------------------------

    def apply(self, applied: dict, manager: str, *, force: bool, dry_run: bool) -> Tuple[dict, bool]:
        """Server-side apply. Returns (object, created). Raises ApplyConflict."""
        key = self.key_of(applied)
        kind = kind_of(applied)
        new_paths = leaf_paths(applied)
        with self.lock:
            live = self.objects.get(key)
            owners = copy.deepcopy(self.owners.get(key, {}))
            created = live is None
            base = copy.deepcopy(live) if live else {
                "apiVersion": applied["apiVersion"], "kind": applied["kind"],
                "metadata": {"name": applied["metadata"]["name"]}}
            if kind.namespaced:
                base["metadata"]["namespace"] = key[2]
            conflicts = []
            for other, (_op, paths) in owners.items():
                if other == manager:
                    continue
                for owned in paths:
                    for path, value in new_paths.items():
                        if _overlaps(owned, path) and get_path(base, path) != value:
                            conflicts.append((other, owned, path))
            if conflicts and not force:
                raise ApplyConflict(sorted({(m, "." + ".".join(p)) for m, p, _ in conflicts}))
            for other, owned, _path in conflicts:
                owners[other][1].discard(owned)
            previous = owners.get(manager, ("Apply", set()))[1]
            still_owned = set().union(*(p for m, (_o, p) in owners.items() if m != manager)) \
                if owners else set()
            result = copy.deepcopy(base)
            for path in previous - set(new_paths):
                if not any(_overlaps(path, o) for o in still_owned):
                    del_path(result, path)
            for path, value in new_paths.items():
                set_path(result, path, value)
            owners[manager] = ("Apply", set(new_paths))
            owners = {m: v for m, v in owners.items() if v[1]}
            changed = created or _strip(result) != _strip(live) or owners != self.owners.get(key)
            meta = result["metadata"]
            if created:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = _now()
                meta["generation"] = 1
            elif _spec(result) != _spec(live):
                meta["generation"] = int(meta.get("generation", 1)) + 1
            if changed:
                meta["resourceVersion"] = self.next_rv() if not dry_run else meta.get(
                    "resourceVersion", "0")
                meta["managedFields"] = [
                    {"manager": m, "operation": op, "apiVersion": result["apiVersion"],
                     "time": _now(), "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(paths)}
                    for m, (op, paths) in sorted(owners.items())]
                if not dry_run:
                    self._writes += 1
                    self.objects[key] = result
                    self.owners[key] = owners
            return copy.deepcopy(result if changed else live), created

    def update_as(self, key: Key, manager: str, patch: dict) -> dict:
        """A non-apply write (kubectl edit, a controller): merge `patch`, the manager takes the
        fields it sets away from everybody else (as an Update operation does)."""
        with self.lock:
            live = self.objects[key]
            paths = leaf_paths(patch)
            owners = self.owners.setdefault(key, {})
            for path, value in paths.items():
                set_path(live, path, value)
                for other, (_op, owned) in owners.items():
                    if other != manager:
                        owned.difference_update({o for o in owned if _overlaps(o, path)})
            op, mine = owners.get(manager, ("Update", set()))
            owners[manager] = ("Update", mine | set(paths))
            live["metadata"]["resourceVersion"] = self.next_rv()
            self._writes += 1
            return copy.deepcopy(live)


def _strip(obj: Optional[dict]) -> Optional[dict]:
    if obj is None:
        return None
    obj = copy.deepcopy(obj)
    for field in ("resourceVersion", "managedFields", "generation"):
        obj.get("metadata", {}).pop(field, None)
    return obj


def _spec(obj: Optional[dict]) -> Optional[dict]:
    if obj is None:
        return None
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def kind_for(obj: dict) -> Kind:
    return kind_of(obj)
