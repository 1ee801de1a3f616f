"""Registering a clone wherever its source is registered, built on the edits of `analyzers.cst_edits`.

>>> src = "from .qwen3_bridge import Qwen3Bridge\\n\\n__all__ = [\\"Qwen3Bridge\\"]\\n"
>>> print(register_clone(src, path="src/a/qwen/__init__.py", module_map={"a.qwen.qwen3_bridge": "a.qwen.qwen4_bridge"},
...                      name_map={"Qwen3Bridge": "Qwen4Bridge"}), end="")
from .qwen3_bridge import Qwen3Bridge
from .qwen4_bridge import Qwen4Bridge
<BLANKLINE>
__all__ = ["Qwen3Bridge", "Qwen4Bridge"]
"""

from __future__ import annotations

from analyzers.catalog.modules import package_of
from analyzers.cst_edits import (
    Comment,
    add_all_entries,
    add_import,
    add_import_names,
    all_entries,
    from_imports,
)

__all__ = ["register_clone"]


def register_clone(
    source: str,
    *,
    path: str,
    module_map: dict[str, str],
    name_map: dict[str, str],
    package_map: dict[str, str] | None = None,
    exports: dict[str, list[str]] | None = None,
    comment: Comment | None = None,
) -> str:
    """Wherever this module registers a cloned module or its names, register the clone the same way.

    - `from old_module import A` (or `*`) -> `from new_module import A'` (or `*`) beside it;
    - `from package import A` of a re-exporting package (`package_map` old -> new package) -> `A'` added
      to the same statement when the package is the same, else a new statement beside it;
    - `__all__` entries `A` that this module imports from those modules -> `A'` beside them.

    `name_map` maps old exported names to new ones; `exports` lists the names each old module defines
    (used for wildcard imports). Idempotent; returns `source` unchanged when nothing applies.
    """
    package_map = package_map or {}
    exports = exports or {}
    imported: list[str] = []
    plans: list[tuple[str, str, list[str] | None, str | None]] = []  # (kind, module, names, anchor)
    for mod, names in from_imports(source, package_of(path), path):
        if mod in module_map:
            if names is None:
                imported.extend(exports.get(mod, []))
                plans.append(("import", module_map[mod], None, mod))
                continue
            renamed = [name_map[n] for n in names if n in name_map]
            imported.extend(n for n in names if n in name_map)
            if renamed:
                plans.append(("import", module_map[mod], renamed, mod))
        elif mod in package_map and names:
            olds = [n for n in names if n in name_map]
            if not olds:
                continue
            imported.extend(olds)
            renamed = [name_map[n] for n in olds]
            if package_map[mod] == mod:
                plans.append(("names", mod, renamed, olds[-1]))
            else:
                plans.append(("import", package_map[mod], renamed, mod))
    text = source
    for kind, module, names, anchor in plans:
        if kind == "import":
            text = add_import(
                text, module=module, names=names, anchor=anchor or module, path=path, comment=comment
            )
        else:
            text = add_import_names(text, module=module, names=names or [], after=anchor or "", path=path)
    entries = all_entries(text, path) if imported else None
    if entries is not None:
        pairs = [
            (old, name_map[old]) for old in dict.fromkeys(imported) if old in entries and old in name_map
        ]
        if pairs:
            text = add_all_entries(text, pairs, path=path)
    return text
