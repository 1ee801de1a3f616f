"""Name variants of a model (snake stem, CamelCase prefix, UPPER, HF class, model_type, paths) and a
case-preserving renamer that respects token boundaries.

The renamer is what clone-family (and rename-family) apply to identifiers, docstrings, comments and
prose. It never touches weight-name strings (callers decide which strings are prose), it renames
whole tokens only (`qwen3` never matches inside `qwen35`), and it leaves longer names of *other*
models alone: asked for `qwen3`, it keeps `qwen3_moe`, `Qwen3MoE` and `QWEN3_NEXT` as they are.

>>> r = Renamer([Variant("qwen3", "qwen4"), Variant("Qwen3", "Qwen4")], protected=["qwen3_moe", "Qwen3MoE"])
>>> r.identifier("qwen3_8b_pretrain_config"), r.identifier("qwen3_moe_bridge"), r.identifier("Qwen3MoEBridge")
('qwen4_8b_pretrain_config', 'qwen3_moe_bridge', 'Qwen3MoEBridge')
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from analyzers.errors import ConfigError, ResolveError

__all__ = [
    "DOCS_DIR",
    "EXAMPLES_DIR",
    "ModelNames",
    "Renamer",
    "Variant",
    "align_camel",
    "camel_case",
    "check_class_prefix",
    "check_stem",
    "class_prefix_of",
    "functional_tests_dir",
    "hf_suffix",
    "rename_camel",
    "transfer_case",
    "unit_tests_dir",
]

_STEM = re.compile(r"^[a-z][a-z0-9_]*$")
_URL = re.compile(r"(\w+://[^\s)>\]\"'`]+)")
#: suffixes of HF model classes, longest first (the part kept when the model prefix is renamed)
HF_SUFFIXES = (
    "ForConditionalGeneration",
    "ForTokenClassification",
    "ForSequenceClassification",
    "ForCausalLM",
    "ForMaskedLM",
    "Model",
)
#: suffixes of the bridge-side classes that carry the model's CamelCase prefix
CLASS_SUFFIXES = ("ModelBridge", "Bridge", "ModelProvider", "Provider", "Model")
#: checkout folders holding one folder per vendor (`docs/models/qwen/`, `examples/models/qwen/qwen3_vl/`)
DOCS_DIR = "docs/models"
EXAMPLES_DIR = "examples/models"


def unit_tests_dir(family: str) -> str:
    """`tests/unit_tests/models/<family>`: the family's bridge and provider tests."""
    return f"tests/unit_tests/models/{family}"


def functional_tests_dir(family: str) -> str:
    """`tests/functional_tests/test_groups/models/<family>`: the family's conversion tests."""
    return f"tests/functional_tests/test_groups/models/{family}"


def check_stem(name: str, what: str = "DST") -> str:
    """`name` when it is a lower-case snake_case identifier; ResolveError otherwise.

    >>> check_stem("qwen4")
    'qwen4'
    """
    if not _STEM.fullmatch(name) or keyword.iskeyword(name) or "__" in name or name.endswith("_"):
        raise ResolveError(f"{what} {name!r} is not a snake_case identifier (e.g. qwen4, my_model_v2)")
    return name


#: grammars of the values generated code is built from (ASCII only: Python folds full-width letters)
MODEL_TYPE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]{0,99}")
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def _refuse(what: str, value: object, grammar: str, origin: str | None) -> None:
    message = f"{what} {value!r} is not {grammar}"
    if origin is None:
        raise ResolveError(message)
    raise ConfigError(message, origin)


def check_model_type(value: object, what: str = "--model-type", origin: str | None = None) -> str:
    """`value` when it is an HF model_type (`qwen3_vl`, `xlm-roberta`); else one error naming `what`.

    >>> check_model_type("qwen3_vl")
    'qwen3_vl'
    """
    if not isinstance(value, str) or not MODEL_TYPE.fullmatch(value):
        _refuse(what, value, "a model type (lower-case ASCII letters, digits, _ and -)", origin)
    return value


def check_hf_class(value: object, what: str = "--hf-class", origin: str | None = None) -> str:
    """`value` when it is an ASCII CamelCase class name (`Qwen4ForCausalLM`)."""
    if not isinstance(value, str) or not CLASS_NAME.fullmatch(value) or keyword.iskeyword(value):
        _refuse(what, value, "an HF class name (ASCII CamelCase, e.g. Qwen4ForCausalLM)", origin)
    return value


def check_hub_id(value: object, what: str = "--hf-id", origin: str | None = None) -> str:
    """`value` when it is an HF hub id `org/name` of `[A-Za-z0-9._-]`.

    >>> check_hub_id("Qwen/Qwen3-8B")
    'Qwen/Qwen3-8B'
    """
    if not isinstance(value, str) or not HUB_ID.fullmatch(value) or ".." in value:
        _refuse(what, value, "an HF hub id (org/name of letters, digits, '.', '_' and '-')", origin)
    return value


def check_class_prefix(name: str, what: str = "--class-prefix") -> str:
    """`name` when it can start a class name (`Qwen4`, `OlmoMoE`); ResolveError otherwise.

    >>> check_class_prefix("Qwen4")
    'Qwen4'
    """
    if not CLASS_NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ResolveError(f"{what} {name!r} is not a CamelCase identifier (e.g. Qwen4, OlmoMoE)")
    return name


def camel_case(stem: str) -> str:
    """`qwen4_moe` -> `Qwen4Moe` (the default when no source casing can be transferred)."""
    return "".join(part[:1].upper() + part[1:] for part in stem.split("_") if part)


def transfer_case(pattern: str, word: str) -> str:
    """`word` cased like `pattern`: all upper, capitalised, or lower.

    >>> transfer_case("QWEN3", "qwen4"), transfer_case("Qwen3", "qwen4"), transfer_case("qwen3", "Qwen4")
    ('QWEN4', 'Qwen4', 'qwen4')
    """
    letters = [c for c in pattern if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return word.upper()
    if pattern[:1].isupper():
        return word[:1].upper() + word[1:].lower()
    return word.lower()


def align_camel(camel: str, stem: str) -> list[str] | None:
    """Split the start of `camel` into one segment per `_`-token of `stem` (case-insensitive, underscores in
    `camel` skipped); the rest of `camel` is the last element. None when `camel` does not start with `stem`.

    >>> align_camel("Qwen3VLMoEBridge", "qwen3_vl")
    ['Qwen3', 'VL', 'MoEBridge']
    >>> align_camel("Qwen3_5ForCausalLM", "qwen35")
    ['Qwen3_5', 'ForCausalLM']
    """
    segments: list[str] = []
    pos = 0
    for token in stem.split("_"):
        start = pos
        for char in token:
            while pos < len(camel) and camel[pos] == "_" and pos > start:
                pos += 1
            if pos >= len(camel) or camel[pos].lower() != char:
                return None
            pos += 1
        segments.append(camel[start:pos])
    segments.append(camel[pos:])
    return segments


def rename_camel(camel: str, src_stem: str, dst_stem: str) -> str | None:
    """The CamelCase name `camel` (which starts with `src_stem`'s tokens) renamed to `dst_stem`, casing kept.

    >>> rename_camel("Qwen3MoE", "qwen3_moe", "qwen4_moe"), rename_camel("DeepSeekV3", "deepseek_v3", "deepseek_v4")
    ('Qwen4MoE', 'DeepSeekV4')
    >>> rename_camel("Qwen3", "qwen3", "my_model"), rename_camel("OlMoE", "olmoe", "olmoe2")
    ('MyModel', 'OlMoE2')
    """
    segments = align_camel(camel, src_stem)
    if segments is None:
        return None
    *heads, rest = segments
    src_tokens, dst_tokens = src_stem.split("_"), dst_stem.split("_")
    if len(src_tokens) == len(dst_tokens):
        out = [
            head if s == d else _recase(head, s, d)
            for head, s, d in zip(heads, src_tokens, dst_tokens, strict=True)
        ]
    else:
        out = [
            transfer_case(heads[0], d) if i == 0 else d[:1].upper() + d[1:] for i, d in enumerate(dst_tokens)
        ]
    return "".join(out) + rest


def _recase(segment: str, src: str, dst: str) -> str:
    """`dst` spelled like `segment` (which spells `src`): a shared start keeps its casing (`OlMoE` -> `OlMoE2`)."""
    common = 0
    while common < min(len(src), len(dst)) and src[common] == dst[common]:
        common += 1
    if "_" in segment or common == 0 or len(segment) != len(src):
        return transfer_case(segment, dst)
    rest = dst[common:]
    tail = segment[common:]
    if tail:
        rest = transfer_case(tail, rest) if tail[:1].isupper() or tail.isupper() else rest
    elif segment.isupper():
        rest = rest.upper()
    return segment[:common] + rest


def hf_suffix(hf_class: str) -> str | None:
    """The task suffix of an HF class name (`ForCausalLM`), or None."""
    return next((s for s in HF_SUFFIXES if hf_class.endswith(s) and len(hf_class) > len(s)), None)


def class_prefix_of(name: str) -> str:
    """A bridge/provider/model class name without the first of `CLASS_SUFFIXES` it ends with; `name` itself
    when it ends with none.

    >>> class_prefix_of("Qwen3MoEModelProvider"), class_prefix_of("Qwen3VLBridge"), class_prefix_of("Bridge")
    ('Qwen3MoE', 'Qwen3VL', 'Bridge')
    """
    suffix = next((s for s in CLASS_SUFFIXES if name.endswith(s) and len(name) > len(s)), None)
    return name[: -len(suffix)] if suffix else name


@dataclass(frozen=True)
class Variant:
    """One spelling of the old name and its replacement."""

    old: str
    new: str


def _is_ident_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _left_ok(text: str, start: int, old: str) -> bool:
    if start == 0:
        return True
    prev = text[start - 1]
    if prev == "_" or not _is_ident_char(prev):
        return True
    # A new CamelCase hump: `MegatronQwen3Bridge`.
    return old[:1].isupper() and (prev.islower() or prev.isdigit()) and not old.isupper()


def _right_ok(text: str, end: int, old: str) -> bool:
    if end == len(text):
        return True
    nxt = text[end]
    if nxt == "_" or not _is_ident_char(nxt):
        return True
    if nxt.isdigit():
        return False
    # `Qwen3Bridge`, `qwen3Config`: the next hump starts; `Qwen3vision` or `QWEN3X` do not.
    return nxt.isupper() and not (old[-1:].isupper() and old[-1:].isalpha() and old.isupper())


@dataclass
class Renamer:
    """Replaces whole-token occurrences of each `Variant.old` by its `new`, longest first, never inside a
    longer `protected` name (the names of other models that start with an old spelling)."""

    variants: list[Variant]
    protected: Iterable[str] = ()
    _variants: list[Variant] = field(init=False, repr=False)
    _protected: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        seen: dict[str, Variant] = {}
        for variant in self.variants:
            if variant.old and variant.old != variant.new and variant.old not in seen:
                seen[variant.old] = variant
        self._variants = sorted(seen.values(), key=lambda v: -len(v.old))
        olds = [v.old for v in self._variants]
        self._protected = sorted(
            {
                p
                for p in self.protected
                if p not in seen and any(p.startswith(o) and len(p) > len(o) for o in olds)
            },
            key=len,
            reverse=True,
        )
        alternatives = "|".join(re.escape(v.old) for v in self._variants)
        self._pattern = re.compile(alternatives) if alternatives else None
        self._by_old = {v.old: v.new for v in self._variants}

    def search_pattern(self) -> re.Pattern[str] | None:
        """A pattern that matches wherever some old spelling occurs (a superset of what gets renamed)."""
        return self._pattern

    def mapping(self) -> dict[str, str]:
        return dict(self._by_old)

    def _replace(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        out: list[str] = []
        pos = 0
        # Every protected name starts with an old spelling, so candidates are where some old spelling occurs.
        while (found := self._pattern.search(text, pos)) is not None:
            start = found.start()
            match = self._match_at(text, start)
            if match is None:
                out.append(text[pos : start + 1])
                pos = start + 1
                continue
            _old, new, length = match
            out.append(text[pos:start])
            out.append(new if new is not None else text[start : start + length])
            pos = start + length
        out.append(text[pos:])
        return "".join(out)

    def _match_at(self, text: str, pos: int) -> tuple[str, str | None, int] | None:
        kept = next(
            (
                name
                for name in self._protected
                if text.startswith(name, pos)
                and _left_ok(text, pos, name)
                and _right_ok(text, pos + len(name), name)
            ),
            None,
        )
        for variant in self._variants:
            old = variant.old
            if len(old) <= len(kept or ""):
                break  # longest first: a protected name at least as long wins
            if (
                text.startswith(old, pos)
                and _left_ok(text, pos, old)
                and _right_ok(text, pos + len(old), old)
            ):
                return old, variant.new, len(old)
        return (kept, None, len(kept)) if kept else None

    def identifier(self, name: str) -> str:
        """A Python identifier (or dotted path, file stem) renamed."""
        return self._replace(name)

    def prose(self, text: str) -> str:
        """Free text (docstrings, comments, Markdown, shell) renamed with the same token rules; URLs are kept
        (they point at what exists: `.../models/qwen3_vl/modeling_qwen3_vl.py`)."""
        if "://" not in text:
            return self._replace(text)
        parts = _URL.split(text)
        return "".join(part if i % 2 else self._replace(part) for i, part in enumerate(parts))

    def touches(self, text: str) -> bool:
        return self._replace(text) != text


def _family_word(stem: str) -> str:
    """The leading letters of a stem (`qwen3_moe` -> `qwen`): what siblings of one family share."""
    return re.match(r"[a-z]*", stem).group(0)  # type: ignore[union-attr]


def _capitals(name: str) -> int:
    return sum(c.isupper() for c in name)


def _spelt_by_hf_class(hf_class: str | None, stem: str) -> str | None:
    """The HF class's own spelling of the model (`Qwen3MoeForCausalLM` -> `Qwen3Moe`) when it names `stem`
    (the same letters and digits): better than SRC's casing renamed (HYV3 -> QWEN3Moe)."""
    suffix = hf_suffix(hf_class or "")
    if hf_class is None or suffix is None:
        return None
    prefix = hf_class[: -len(suffix)]
    same = prefix.lower() == stem.replace("_", "").lower()
    return prefix if same and CLASS_NAME.fullmatch(prefix) else None


@dataclass
class ModelNames:
    """Every spelling of one model that clone-family writes, derived from the snake_case stem.

    >>> n = ModelNames.derive("qwen4", src_stem="qwen3", src_prefix="Qwen3", src_hf_class="Qwen3ForCausalLM")
    >>> n.class_prefix, n.upper, n.hf_class, n.model_type, n.recipe_prefix, n.docs_page
    ('Qwen4', 'QWEN4', 'Qwen4ForCausalLM', 'qwen4', 'qwen4', 'qwen4.md')
    """

    stem: str  #: module stem: `qwen4` -> `qwen4_bridge.py`
    class_prefix: str  #: CamelCase prefix of the bridge/provider/model classes: `Qwen4`
    hf_class: str  #: HF architecture class: `Qwen4ForCausalLM`
    model_type: str  #: HF `model_type` registered with the bridge
    hf_id: str | None = None  #: published checkpoint used in recipes, docs and examples

    @property
    def upper(self) -> str:
        return self.stem.upper()

    @property
    def hyphen(self) -> str:
        return self.stem.replace("_", "-")

    @property
    def recipe_prefix(self) -> str:
        """What the model's recipe functions start with: `qwen4` of `qwen4_8b_pretrain_config`."""
        return self.stem

    @property
    def bridge_class(self) -> str:
        return f"{self.class_prefix}Bridge"

    @property
    def hf_prefix(self) -> str:
        suffix = hf_suffix(self.hf_class)
        return self.hf_class[: -len(suffix)] if suffix else self.hf_class

    @property
    def docs_page(self) -> str:
        return f"{self.hyphen}.md"

    @classmethod
    def derive(
        cls,
        stem: str,
        *,
        src_stem: str,
        src_prefix: str,
        src_hf_class: str | None,
        class_prefix: str | None = None,
        hf_class: str | None = None,
        model_type: str | None = None,
        hf_id: str | None = None,
    ) -> ModelNames:
        """Names of the new model `stem`, each derived from the source's spelling unless given explicitly."""
        check_stem(stem)
        if class_prefix is not None:
            check_class_prefix(class_prefix)
        renamed = rename_camel(src_prefix, src_stem, stem)
        hf_spelling = _spelt_by_hf_class(hf_class, stem)
        # another family's capitals renamed read oddly (HYV3 -> QWEN3Moe): the HF class's own spelling of the
        # model is taken then; a sibling keeps its family's casing (Qwen3MoE -> Qwen4MoE)
        if renamed and hf_spelling and _family_word(src_stem) != _family_word(stem):
            if _capitals(renamed) > _capitals(hf_spelling):
                renamed = hf_spelling
        prefix = class_prefix or renamed or camel_case(stem)
        if not CLASS_NAME.fullmatch(prefix) or keyword.iskeyword(prefix):
            raise ResolveError(f"class prefix {prefix!r} is not an ASCII CamelCase identifier")
        if hf_class is None:
            suffix = hf_suffix(src_hf_class or "") or "ForCausalLM"
            src_hf_prefix = (src_hf_class or "")[: -len(suffix)] if src_hf_class else ""
            hf_prefix = (rename_camel(src_hf_prefix, src_stem, stem) if src_hf_prefix else None) or prefix
            hf_class = hf_prefix + suffix
        check_hf_class(hf_class, "HF class")
        if model_type is not None:
            check_model_type(model_type, "model_type")
        if hf_id is not None:
            check_hub_id(hf_id, "hub id")
        return cls(
            stem=stem, class_prefix=prefix, hf_class=hf_class, model_type=model_type or stem, hf_id=hf_id
        )
