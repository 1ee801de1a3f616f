"""A docs vendor's `index.md` gains a model page: a toctree entry and a row in the guide table."""

from __future__ import annotations

from collections.abc import Callable

from analyzers.errors import PlanConflictError

__all__ = ["list_page"]


def list_page(
    text: str, path: str, old_page: str | None, new_page: str, *, title: str, prose: Callable[[str], str]
) -> str | None:
    """`text` (the index at `path`) listing `new_page` beside `old_page`, or at the end when there is none;
    None when it lists `new_page` already. PlanConflictError when it has no toctree to list it in.

    Beside `old_page`, the new toctree entry follows it and each table row linking it is repeated, renamed by
    `prose`; without one, the new row, titled `title`, follows the last row that links a page.

    >>> print(list_page("```{toctree}\\na.md\\n```\\n", "index.md", "a.md", "b.md", title="B", prose=str), end="")
    ```{toctree}
    a.md
    b.md
    ```
    """
    lines = text.splitlines(keepends=True)
    if any(line.strip() == new_page for line in lines):
        return None
    out: list[str] = []
    in_toctree = placed = False
    for line in lines:
        if line.startswith("```{toctree}"):
            in_toctree = True
        elif in_toctree and line.startswith("```"):
            in_toctree = False
            if not placed and old_page is None:
                out.append(f"{new_page}\n")
                placed = True
        out.append(line)
        if in_toctree and old_page is not None and line.strip() == old_page:
            out.append(f"{new_page}\n")
            placed = True
        if old_page is not None and f"({old_page})" in line and line.lstrip().startswith("|"):
            out.append(
                prose(line)
                .replace(f"({old_page})", f"({new_page})")
                .replace(f"[{old_page}]", f"[{new_page}]")
            )
    if not placed:
        raise PlanConflictError(f"no toctree entry to place {new_page} beside", path)
    if old_page is None:
        rows = [i for i, line in enumerate(out) if line.lstrip().startswith("|") and ".md)" in line]
        if rows:
            out.insert(rows[-1] + 1, f"| {title} | [{new_page}]({new_page}) |\n")
    return "".join(out)
