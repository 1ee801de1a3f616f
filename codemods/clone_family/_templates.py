"""What clone-family stamps on generated text: the license header, the TODO marker, and the files written from
templates (`templates/`, shipped as package data) when SRC has no docs page or examples folder to clone.

>>> render("docs_page.md", class_prefix="Qwen4", todo=TODO, source_bridge="Qwen3Bridge", source_stem="qwen3",
...        hf_id="Qwen/Qwen4", hf_id_shell="Qwen/Qwen4", stem="qwen4").splitlines()[0]
'# Qwen4'
"""

from __future__ import annotations

import datetime
import functools
import string
from importlib import resources

__all__ = ["TODO", "current_year", "license_header", "render"]

#: the marker of every decision left to the maintainer (collected into the plan's todos)
TODO = "TODO(bridgesmith)"


class _Template(string.Template):
    """`{{name}}` placeholders only: the shell scripts' own `${VAR}` and any `$` stay as written."""

    pattern = r"""\{\{(?:
        (?P<braced>[a-z_]+) |
        (?P<named>(?!)) | (?P<escaped>(?!)) | (?P<invalid>(?!))
    )\}\}"""


@functools.cache
def _template(name: str) -> _Template:
    return _Template(resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """The template `templates/<name>` with every `{{placeholder}}` filled (KeyError for a missing one)."""
    return _template(name).substitute(values)


def current_year() -> int:
    return datetime.date.today().year


def license_header(year: int | None = None) -> str:
    """The Apache-2.0 header of the tree's files, as comment lines ending in a newline."""
    return render("license_header.txt", year=year or current_year())
