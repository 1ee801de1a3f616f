"""HF class name -> the `model_type`s transformers builds it from, read statically from transformers' source.

MBR013 reads the installed transformers package when there is one, else the index shipped beside this
module (`hf_model_types.json`, built from the transformers version it names), so the rule also runs in
environments without transformers (the pre-commit hook's). Regenerate the index with
`python -m analyzers.rules._hf_model_types [TRANSFORMERS_PACKAGE_DIR]`; `tests/lint/test_hf_model_types.py`
fails when it is out of date against the installed transformers.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

from analyzers.transformers_source import (
    auto_model_types,
    class_folders,
    config_model_types,
    package_version,
    transformers_dir,
)

INDEX_PATH = Path(__file__).with_name("hf_model_types.json")
#: classes worth indexing besides the auto mappings' (a registration's source is a model class)
_MODEL_CLASS = re.compile(r"(For[A-Z]\w*|Model)$")


def source_model_types(tdir: Path, source: str) -> set[str] | None:
    """Every `model_type` the HF class `source` can be built from in the transformers at `tdir`.

    The auto mappings first; for classes not listed there, the `model_type = "..."` of the
    `configuration_*.py` files in the class's folder. None when transformers does not know the class.
    """
    types = set(auto_model_types(tdir).get(source, ()))
    folder = class_folders(tdir).get(source) if not types else None
    if folder:
        types.update(config_model_types(tdir, folder))
    return types or None


def build_index(tdir: Path) -> dict:
    """The index of the transformers package at `tdir`: its version and class -> sorted model types."""
    names = set(auto_model_types(tdir)) | {
        n for n in class_folders(tdir) if _MODEL_CLASS.search(n) and not n.endswith("PreTrainedModel")
    }
    classes = {}
    for name in sorted(names):
        if types := source_model_types(tdir, name):
            classes[name] = sorted(types)
    return {"transformers_version": package_version(tdir), "classes": classes}


def render_index(index: dict) -> str:
    """The index as JSON with one class per line (diffs of a regenerated index stay readable)."""
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(index["classes"].items()))
    version = json.dumps(index["transformers_version"])
    return f'{{\n"transformers_version": {version},\n"classes": {{\n{rows}\n}}\n}}\n'


@functools.cache
def shipped_index() -> dict:
    return json.loads(INDEX_PATH.read_text(encoding="utf-8"))


class ModelTypes:
    """Where MBR013's answers come from: the installed transformers, else the shipped index."""

    def __init__(self) -> None:
        self.tdir = transformers_dir()
        index = None if self.tdir is not None else shipped_index()
        self._classes: dict[str, list[str]] | None = index["classes"] if index else None
        #: for messages: "transformers 5.12.1 (installed)" or "transformers 5.12.1 (shipped index)"
        self.origin = (
            f"transformers {package_version(self.tdir)} (installed)"
            if self.tdir is not None
            else f"transformers {index['transformers_version']} (shipped index)"
        )

    def of(self, source: str) -> set[str] | None:
        if self._classes is not None:
            types = self._classes.get(source)
            return set(types) if types else None
        assert self.tdir is not None
        return source_model_types(self.tdir, source)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    tdir = Path(argv[0]) if argv else transformers_dir()
    if tdir is None or not (tdir / "models/auto/modeling_auto.py").is_file():
        print(f"error: {tdir or 'transformers'}: not a transformers package folder", file=sys.stderr)
        return 2
    index = build_index(tdir)
    INDEX_PATH.write_text(render_index(index), encoding="utf-8")
    print(f"{INDEX_PATH}: {len(index['classes'])} classes from transformers {index['transformers_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
