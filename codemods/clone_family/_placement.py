"""Where a clone lives, as maintainers lay families out: the family folder under models/, the folder of the
model's own modules, its recipe family, docs and examples vendor folders.

Families are grouped by vendor (`qwen/` holds qwen2, qwen3, qwen3_moe; `exaone/` one sub-package per model);
a model of another vendor gets a folder named after it (granite cloned from mistral: `models/granite/`).

>>> vendor("qwen4"), vendor("exaone4x"), vendor("seed_oss")
('qwen', 'exaone', 'seed')
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from analyzers.catalog.records import Catalog, FamilyRecord
from analyzers.errors import PlanConflictError, ResolveError
from analyzers.repo import MODELS_DIR
from codemods.resolve import ResolvedSource, bridge_stem

__all__ = ["Placement", "place", "vendor"]


@dataclass(frozen=True)
class Placement:
    """Where the new model goes (folders relative to models/ and recipes/)."""

    family: str  #: the family folder under models/ (`exaone`, `granite`, `qwen`): tests, docs, examples
    model_dir: str  #: the folder of the model's own modules under models/ (`exaone/exaone4x`, `granite`)
    src_dir: str  #: the folder of SRC's modules under models/ (`gemma`, `exaone/exaone4`)
    recipe_family: str | None  #: recipes/<this> (None: the recipes stay beside SRC's)
    reason: str  #: one report line: why here

    @property
    def moved(self) -> bool:
        """Whether the model's modules go elsewhere than SRC's folder."""
        return self.model_dir != self.src_dir

    @property
    def package(self) -> str:
        return "megatron.bridge.models." + self.model_dir.replace("/", ".")


_STEM = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def vendor(name: str) -> str:
    """The vendor token of a model or folder name: its leading letters (`qwen` of `qwen3_moe`)."""
    match = re.match(r"[a-z]+", name)
    return match.group(0) if match else name


def _is_vendor_folder(name: str) -> bool:
    """`qwen`, `qwen_vl`, `exaone` group a vendor's models; `minimax_m2`, `hy_v3`, `ministral3` are one model's."""
    return "/" not in name and not re.search(r"\d", name)


def _vendors(family: FamilyRecord, catalog: Catalog) -> set[str]:
    """The vendor tokens of a family folder: its name's first part and its models' (`step` of `stepfun`)."""
    stems = {bridge_stem(b) for b in catalog.bridges if b.family == family.name}
    return {family.name.split("_")[0]} | {vendor(s) for s in stems}


def _suffix(name: str) -> str:
    return name.split("_", 1)[1] if "_" in name else ""


def _nested(root: Path, family: FamilyRecord, catalog: Catalog) -> bool:
    """Whether the family keeps one sub-package per model (`exaone/exaone4/exaone4_bridge.py`)."""
    dirs = {
        PurePosixPath(b.path).parent.as_posix()
        for b in catalog.bridges
        if b.family == family.name and not b.diffusion
    }
    return bool(dirs) and all(d != family.path for d in dirs)


def place(
    root: Path, catalog: Catalog, source: ResolvedSource, stem: str, family_dir: str | None
) -> Placement:
    """Where the clone `stem` of `source` goes; `family_dir` (`exaone`, `exaone/exaone4`, `granite`) decides
    when given. Raises ResolveError (a part is no snake_case name) and PlanConflictError (a module shadows it)."""
    src_dir = PurePosixPath(source.bridge.path).parent.as_posix().removeprefix(MODELS_DIR + "/")
    src_family = source.family.name
    families = {f.name: f for f in catalog.families}
    if family_dir is not None:
        parts = family_dir.split("/")
        if not all(_STEM.fullmatch(part) and not keyword.iskeyword(part) for part in parts):
            raise ResolveError(
                f"--family-dir {family_dir!r} is not a snake_case identifier or a path of them "
                "(e.g. granite, exaone/exaone4)"
            )
        for depth in range(1, len(parts) + 1):
            module = f"{MODELS_DIR}/{'/'.join(parts[:depth])}.py"
            if (root / module).exists():
                raise PlanConflictError(
                    f"--family-dir {family_dir!r} would shadow the module of the same name", module
                )
        model_dir = "/".join(parts)
        family = parts[0]
        joins = (root / MODELS_DIR / family).is_dir()
        how = "joins the existing family" if joins else "a new family folder"
        reason = f"placement: models/{model_dir}/ (--family-dir; {how} {family})"
        if family in families and len(parts) == 1 and _nested(root, families[family], catalog):
            model_dir = f"{family}/{stem}"
            reason = f"placement: models/{model_dir}/ (--family-dir {family}: the family keeps one sub-package per model)"
        return Placement(family, model_dir, src_dir, _recipe_family(families, family, source), reason)
    token = vendor(stem)
    if _is_vendor_folder(src_family) and token in _vendors(source.family, catalog):
        model_dir = src_dir
        if src_dir != src_family and PurePosixPath(src_dir).name == source.stem:
            model_dir = f"{src_family}/{stem}"  # the family keeps one sub-package per model
        return Placement(
            src_family,
            model_dir,
            src_dir,
            None,
            f"placement: models/{model_dir}/ ({token} models live in {src_family}/)",
        )
    candidates = [
        name for name in families if _is_vendor_folder(name) and token in _vendors(families[name], catalog)
    ]
    if candidates:
        want = _suffix(src_family) if _is_vendor_folder(src_family) else ""
        family = min(candidates, key=lambda n: (_suffix(n) != want, _suffix(n) != "", n))
        model_dir = f"{family}/{stem}" if _nested(root, families[family], catalog) else family
        reason = (
            f"placement: models/{model_dir}/ (joins the {family} family: {token} models live there, "
            f"{source.bridge.name}'s folder {src_dir}/ is another vendor's)"
        )
        return Placement(family, model_dir, src_dir, _recipe_family(families, family, source), reason)
    reason = (
        f"placement: models/{stem}/ (a new family folder named after the model: {src_dir}/ holds "
        f"another vendor's models; --family-dir chooses another)"
    )
    return Placement(stem, stem, src_dir, _recipe_family(families, stem, source), reason)


def _recipe_family(families: dict[str, FamilyRecord], family: str, source: ResolvedSource) -> str | None:
    """The recipe family of the chosen family: the one it has (named like it first), else a new one named
    after the family; None when that is SRC's own recipe family (the recipes stay beside SRC's)."""
    record = families.get(family)
    own = list(record.recipes) if record is not None else []
    chosen = (family if family in own else sorted(own)[0]) if own else family
    if chosen in source.family.recipes and family == source.family.name:
        return None
    return chosen
