"""Every class of the scanned modules by qualified name: re-exports followed, bases resolved across modules.

Assembly and the provider records both walk inheritance through it, so it sits below both.
"""

from __future__ import annotations

from analyzers.catalog.extract import ClassFacts, FileFacts


class ClassTable:
    """Every class of the scanned modules, by qualified name, with re-export and base resolution."""

    def __init__(self, files: list[FileFacts]) -> None:
        self.by_qualname: dict[str, tuple[FileFacts, ClassFacts]] = {}
        self.by_name: dict[str, list[str]] = {}
        self.reexports: dict[str, str] = {}
        for facts in files:
            for cls in facts.classes:
                self.by_qualname[cls.qualname] = (facts, cls)
                self.by_name.setdefault(cls.name, []).append(cls.qualname)
            if facts.init:
                for mod, names in facts.init.imports.items():
                    for name in names:
                        self.reexports[f"{facts.module}.{name}"] = f"{mod}.{name}"
        self._ancestors: dict[str, list[str]] = {}

    def resolve(self, qualname: str) -> str | None:
        seen = set()
        while qualname not in self.by_qualname and qualname in self.reexports and qualname not in seen:
            seen.add(qualname)
            qualname = self.reexports[qualname]
        if qualname in self.by_qualname:
            return qualname
        candidates = self.by_name.get(qualname.rsplit(".", 1)[-1], [])
        return candidates[0] if len(candidates) == 1 else None

    def ancestors(self, qualname: str) -> list[str]:
        """Qualified names of all bases, nearest first (unresolvable bases kept as written)."""
        if qualname in self._ancestors:
            return self._ancestors[qualname]
        self._ancestors[qualname] = []  # cycle guard
        out: list[str] = []
        entry = self.by_qualname.get(qualname)
        if entry:
            for base in entry[1].resolved_bases:
                resolved = self.resolve(base) or base
                if resolved not in out:
                    out.append(resolved)
                for anc in self.ancestors(resolved):
                    if anc not in out:
                        out.append(anc)
        self._ancestors[qualname] = out
        return out

    def derives(self, qualname: str, base: str) -> bool:
        return base in self.ancestors(qualname)
