"""Parsed modules of the tree (stdlib ast), with their import bindings, loaded on demand."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.errors import ParseError
from analyzers.source_index import SourceIndex

#: dotted prefix of the tree's own modules
TREE_NAMESPACE = "megatron.bridge."


def module_name(rel_path: str) -> str:
    """Dotted module name of a path relative to the tree root.

    >>> module_name("src/megatron/bridge/models/qwen/__init__.py")
    'megatron.bridge.models.qwen'
    """
    parts = rel_path.removeprefix("src/").removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(rel_path: str) -> str:
    """Dotted package the relative imports of the file at `rel_path` start from (its own for an `__init__`).

    >>> package_of("src/megatron/bridge/models/qwen/qwen3_bridge.py")
    'megatron.bridge.models.qwen'
    """
    name = module_name(rel_path)
    return name if rel_path.endswith("__init__.py") else name.rpartition(".")[0]


def resolve_relative(current_module: str, is_package: bool, level: int, module: str | None) -> str:
    """Absolute module of a `from .x import y` seen in `current_module`.

    >>> resolve_relative("megatron.bridge.models.qwen.qwen3_bridge", False, 2, "conversion")
    'megatron.bridge.models.conversion'
    """
    if level == 0:
        return module or ""
    base = current_module.split(".") if current_module else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


@dataclass
class ModuleInfo:
    """One parsed module and the top-level names it binds."""

    path: str  #: relative POSIX path
    name: str  #: dotted module name
    tree: ast.Module
    source: str
    #: local name -> (module, name) for `from module import name [as local]`; name "" for `import module`
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    #: module-level `NAME = <expr>` assignments (last one wins)
    assignments: dict[str, ast.expr] = field(default_factory=dict)
    _line_starts: list[int] | None = field(default=None, repr=False)
    _encoded: bytes = field(default=b"", repr=False)

    @property
    def is_package(self) -> bool:
        return self.path.endswith("__init__.py")

    def segment(self, node: ast.AST, limit: int = 200) -> str:
        """Source text of a node, shortened to `limit` characters."""
        # ast.get_source_segment re-splits the whole file on every call; index line starts once instead.
        if self._line_starts is None:
            starts, total = [0], 0
            for line in self.source.splitlines(keepends=True):
                total += len(line.encode("utf-8"))
                starts.append(total)
            self._line_starts = starts
            self._encoded = self.source.encode("utf-8")
        try:
            begin = self._line_starts[node.lineno - 1] + node.col_offset
            end = self._line_starts[node.end_lineno - 1] + node.end_col_offset
            text = self._encoded[begin:end].decode("utf-8")
        except (AttributeError, IndexError, TypeError, UnicodeDecodeError):
            text = ast.unparse(node)
        return text if len(text) <= limit else text[: limit - 3] + "..."


def build_module_info(rel_path: str, source: str) -> ModuleInfo:
    """Parse `source` and index its top-level bindings; raises ParseError with path:line."""
    try:
        tree = ast.parse(source, filename=rel_path)
    except SyntaxError as exc:
        raise ParseError(
            f"syntax error at line {exc.lineno}: {exc.msg}", f"{rel_path}:{exc.lineno}"
        ) from None
    except ValueError as exc:  # null bytes
        raise ParseError(f"cannot parse: {exc}", rel_path) from None
    info = ModuleInfo(path=rel_path, name=module_name(rel_path), tree=tree, source=source)
    _index(info, tree.body)
    return info


def _index(info: ModuleInfo, body: list[ast.stmt]) -> None:
    for node in body:
        if isinstance(node, ast.ImportFrom):
            mod = resolve_relative(info.name, info.is_package, node.level, node.module)
            for alias in node.names:
                if alias.name != "*":
                    info.imports[alias.asname or alias.name] = (mod, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                info.imports[local] = (alias.name if alias.asname else local, "")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            info.functions[node.name] = node  # type: ignore[assignment]
        elif isinstance(node, ast.ClassDef):
            info.classes[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    info.assignments[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            info.assignments[node.target.id] = node.value
        elif isinstance(node, ast.If | ast.Try):
            # Optional imports and definitions guarded at module level still bind names.
            _index(info, node.body)
            for handler in getattr(node, "handlers", []):
                _index(info, handler.body)
            _index(info, node.orelse)


def strip_to_outline(info: ModuleInfo) -> ModuleInfo:
    """Empty every method body but `__init__`, in place: what resolving mapping classes needs (bases and
    constructor signatures), small enough to cache and load faster than parsing the module again."""
    for node in ast.walk(info.tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name != "__init__":
                    item.body = [ast.Expr(ast.Constant(...))]
    return info


def module_candidates(dotted: str) -> tuple[str, str]:
    """The two paths the dotted module of the tree can have: its module file and its package `__init__`.

    >>> module_candidates("megatron.bridge.models.qwen")
    ('src/megatron/bridge/models/qwen.py', 'src/megatron/bridge/models/qwen/__init__.py')
    """
    base = "src/" + dotted.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def module_path(root: Path, dotted: str) -> str | None:
    """Relative path of the dotted module `dotted` under `root`'s src/ (module or package), None when absent."""
    for candidate in module_candidates(dotted):
        if (root / candidate).is_file():
            return candidate
    return None


def indexed_module(index: SourceIndex, rel_path: str) -> ModuleInfo:
    """The catalog's parse of the module at `rel_path`, made once in the run's `index`; ParseError when it
    cannot be read or parsed."""
    return index.parse("info", rel_path, lambda source: build_module_info(rel_path, source))


def indexed_modules(index: SourceIndex, paths: Iterable[str]) -> Iterator[ModuleInfo]:
    """The catalog's parse of each `.py` of `paths` that reads and parses, through the run's `index` (the
    others are skipped: a stage that looks for a construct in SRC's modules finds none there)."""
    for path in paths:
        if not path.endswith(".py"):
            continue
        try:
            yield indexed_module(index, path)
        except ParseError:
            continue


class ModuleLoader:
    """Modules of one tree on demand, through the run's `SourceIndex` (the catalog build, the lint and the
    registry evaluator get the same parse of a file); records which files were read."""

    def __init__(self, root: Path, index: SourceIndex | None = None) -> None:
        self.root = root
        self.index = index if index is not None else SourceIndex(root)
        #: modules given with `add` (a cached outline) and the paths that do not read or parse (None)
        self._modules: dict[str, ModuleInfo | None] = {}
        #: every path asked for since the caller last reset it (the dependencies of one file's facts)
        self.accessed: set[str] = set()
        self._recordings: list[set[str]] = []
        #: what the registry evaluator memoises about these modules' classes (it is keyed by their nodes)
        self.class_memo: object | None = None

    def touch(self, paths: Iterable[str]) -> None:
        """Count `paths` as read: by the current file, and by every computation being recorded."""
        self.accessed.update(paths)
        for recording in self._recordings:
            recording.update(paths)

    @contextmanager
    def recording(self) -> Iterator[set[str]]:
        """The paths read inside the block, nested blocks included (for memos shared between files: a
        later file that reuses a memoised value depends on what computing it read)."""
        paths: set[str] = set()
        self._recordings.append(paths)
        try:
            yield paths
        finally:
            self._recordings.pop()

    def path_of(self, dotted: str) -> str | None:
        """Relative path of a dotted module inside the tree's src/, or None when not in the tree."""
        path = module_path(self.root, dotted)
        if path is None and dotted.startswith(TREE_NAMESPACE):
            # A module of the tree that does not exist yet: creating it must invalidate the reader.
            self.touch(module_candidates(dotted))
        return path

    def by_path(self, rel_path: str) -> ModuleInfo | None:
        self.touch((rel_path,))
        if rel_path in self._modules:
            return self._modules[rel_path]
        try:
            return indexed_module(self.index, rel_path)
        except ParseError:
            self._modules[rel_path] = None
            return None

    def add(self, info: ModuleInfo) -> None:
        self._modules[info.path] = info

    def by_name(self, dotted: str) -> ModuleInfo | None:
        path = self.path_of(dotted)
        return self.by_path(path) if path else None

    def resolve(self, info: ModuleInfo, name: str) -> tuple[ModuleInfo, str] | None:
        """Follow `name` as bound in `info` to the module that defines it (through imports, re-exports)."""
        seen: set[tuple[str, str]] = set()
        current, current_name = info, name
        while (current.path, current_name) not in seen:
            seen.add((current.path, current_name))
            if current_name in current.functions or current_name in current.classes:
                return current, current_name
            if current_name in current.assignments:
                return current, current_name
            target = current.imports.get(current_name)
            if target is None:
                return None
            mod, attr = target
            nxt = self.by_name(mod)
            if nxt is None or not attr:
                return None
            current, current_name = nxt, attr
        return None
