"""MBR053 (checkout only): a relative link in `docs/` to a file that does not exist."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from functools import cached_property

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

#: inline Markdown links and images: [text](target "title")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
SKIP = re.compile(r"^([a-z][a-z0-9+.-]*:|#|/|\{|mailto:)", re.IGNORECASE)


#: folders the docs build generates (Sphinx autodoc2 API pages): not in the tree by design
GENERATED_SKIP = ("docs/apidocs/",)
#: folders docs/conf.py copies in at build time -> where they come from
COPIED = {"docs/skills/": "skills/"}


class DocsLinkToMissingFile(LintRule):
    """Flags relative links in `docs/**/*.md` whose target file or folder is not in the tree.

    ## What it does
    On a full checkout, reads every inline Markdown link and image outside code blocks, drops the
    `#anchor` and `?query`, resolves relative targets against the page's folder, and checks that
    the path exists (Sphinx-style targets without a suffix also match `<target>.md`). URLs, absolute
    paths, pure anchors and templated targets are skipped, and so are folders the docs build makes:
    `docs/apidocs/` (generated API pages), `docs/skills/` (copied from `skills/`, checked there) and
    git submodules (empty in a checkout without `--recursive`).

    ## Why is this bad?
    Docs links to source files and examples go stale with every move or rename; the rendered site
    shows a 404 that no test catches.

    ## Use instead
    Point the link at the file's current path.
    """

    CODE = "MBR053"
    NAME = "docs-link-to-missing-file"
    MESSAGE = "link target `{target}` does not exist"
    CHECKOUT_ONLY = True
    FILES = r"^docs/.+\.md$"
    VALID = [
        {
            "tests/unit_tests/models/foo/__init__.py": "",
            "docs/models/foo/foo.md": "See [the bridge](../../../src/megatron/bridge/models/foo/foo_bridge.py) and [site](https://x.org).\n"
            "```\n[not a link](missing.md)\n```\n[index](index)\n",
            "docs/models/foo/index.md": "# Foo\n",
        }
    ]
    INVALID = [
        Invalid(
            {
                "tests/unit_tests/models/foo/__init__.py": "",
                "docs/models/foo/foo.md": "# Foo\n\nSee [the bridge](../../../src/megatron/bridge/models/foo/old_bridge.py#L10).\n",
            },
            expected_lines=(3,),
        )
    ]

    @cached_property
    def _submodules(self) -> list[str]:
        text = self.ctx.text(".gitmodules") or ""
        return [m.strip() for m in re.findall(r"^\s*path\s*=\s*(.+)$", text, re.MULTILINE)]

    def check_file(self, path: str) -> Iterator[Finding]:
        text = self.ctx.text(path)
        if text is not None:
            yield from self._check_page(path, text)

    def _check_page(self, page: str, text: str) -> Iterator[Finding]:
        folder = page.rsplit("/", 1)[0]
        in_fence = False
        for lineno, line in enumerate(text.splitlines(), 1):
            if FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            stripped = re.sub(r"`[^`]*`", "", line)
            for match in LINK.finditer(stripped):
                target = match.group(1)
                if SKIP.match(target):
                    continue
                path = target.split("#", 1)[0].split("?", 1)[0]
                if not path:
                    continue
                resolved = posixpath.normpath(posixpath.join(folder, path))
                if resolved.startswith("../") or self._exists(resolved):
                    continue
                col = line.find(target)
                yield self.finding(Location(page, lineno, max(col, 0)), target=target)

    def _exists(self, rel: str) -> bool:
        if rel.startswith(GENERATED_SKIP) or any(rel.startswith(s + "/") for s in self._submodules):
            return True
        for copied, source in COPIED.items():
            if rel.startswith(copied):
                rel = source + rel[len(copied) :]
        if self.ctx.exists(rel):
            return True
        return any(
            self.ctx.exists(rel + suffix) for suffix in (".md", ".rst", ".ipynb", "/index.md", "/README.md")
        )
