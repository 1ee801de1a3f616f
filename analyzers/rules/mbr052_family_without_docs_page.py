"""MBR052 (checkout only): a model family with bridges and no page under `docs/models/`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from analyzers.catalog.records import FamilyRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._common import start


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class FamilyWithoutDocsPage(LintRule):
    """Flags model families with bridges that no page under `docs/models/` documents.

    ## What it does
    On a full checkout, looks for a Markdown page under `docs/models/` whose name matches the
    family (or one of its registered model types or bridge names, ignoring case and punctuation:
    `qwen3_vl` ~ `qwen3-vl.md`; or containing every word of the family name: `nemotron_vl` ~
    `nemotron-nano-v2-vl.md`), a model page in `docs/models/<family>/`, or a page whose text names
    one of the family's bridge classes or HF architectures. Diffusion families are not checked.

    ## Why is this bad?
    The docs pages are where users find which checkpoints convert, the supported features and
    the example commands; a model without one is effectively unannounced.

    ## Use instead
    Add `docs/models/<vendor>/<model>.md` (and link it from the vendor's `index.md`).
    """

    CODE = "MBR052"
    NAME = "family-without-docs-page"
    MESSAGE = "family `{family}` has no docs page under `docs/models/`"
    CHECKOUT_ONLY = True
    VALID = [{"tests/unit_tests/models/foo/__init__.py": "", "docs/models/foo/foo-7b.md": "# Foo\n"}]
    INVALID = [
        Invalid(
            {"tests/unit_tests/models/foo/__init__.py": "", "docs/models/bar/bar.md": "# Bar\n"},
            expected_message="`foo`",
        )
    ]

    def _candidates(self, family: FamilyRecord) -> set[str]:
        names = {family.name, *(b.removesuffix("Bridge") for b in family.bridges)}
        for name in family.bridges:
            bridge = self.ctx.catalog.bridge(name)
            if bridge is not None:
                names |= {r.model_type for r in bridge.registrations if r.model_type}
        return {n for n in (_norm(x) for x in names) if len(n) >= 3}

    def check_family(self, family: FamilyRecord) -> Iterator[Finding]:
        if family.name.startswith("diffusion/") or not family.bridges:
            return
        pages = sorted(p for p in self.ctx.files.paths if p.startswith("docs/models/") and p.endswith(".md"))
        wanted = self._candidates(family)
        tokens = [t for t in re.split(r"[_/]", family.name.lower()) if t]
        for page in pages:
            folder, name = page.rsplit("/", 1)
            stem = _norm(name.removesuffix(".md"))
            if stem in ("index", "readme"):
                continue
            if folder == f"docs/models/{family.name}":
                return  # the family's own vendor folder has a model page
            if any(stem == c or stem.startswith(c) or c.startswith(stem) for c in wanted):
                return
            words = re.split(r"[^a-z0-9]+", name.lower().removesuffix(".md"))
            if len(tokens) > 1 and all(t in words for t in tokens):
                return  # nemotron_vl ~ nemotron-nano-v2-vl.md
        markers = set(family.bridges)
        for name in family.bridges:
            bridge = self.ctx.catalog.bridge(name)
            if bridge is not None:
                markers |= {r.source for r in bridge.registrations if r.source and len(r.source) > 6}
        for page in pages:
            text = self.ctx.text(page) or ""
            if any(m in text for m in markers):
                return
        where = f"{family.path}/__init__.py" if family.init is not None else family.path
        yield self.finding(start(where), family=family.name)
