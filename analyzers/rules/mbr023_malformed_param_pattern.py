"""MBR023: a malformed parameter pattern in a mapping."""

from __future__ import annotations

import re
from collections.abc import Iterator

from analyzers.catalog.records import BridgeRecord
from analyzers.lint.rule import Finding, Invalid, LintRule
from analyzers.rules._mappings import hf_patterns
from analyzers.rules.mbr020_wildcard_count_mismatch import _HEAD

_CHARS = re.compile(r"^[A-Za-z0-9_.*]+$")
#: a segment is a name, `*`, `**`, or a name with a trailing `*` (grouped experts: `weight*`)
_SEGMENT = re.compile(r"^(\*\*?|[A-Za-z0-9_]+\*?)$")
#: segments before the last: a name or a whole-segment wildcard
_WHOLE = re.compile(r"^(\*\*?|[A-Za-z0-9_]+)$")


def problem(pattern: str) -> str | None:
    if not pattern:
        return "is empty"
    if pattern != pattern.strip() or " " in pattern:
        return "contains whitespace"
    if not _CHARS.match(pattern):
        bad = sorted({c for c in pattern if not re.match(r"[A-Za-z0-9_.*]", c)})
        return f"contains {''.join(bad)!r}"
    segments = pattern.split(".")
    if any(s == "" for s in segments):
        return "has an empty segment (`..` or a leading/trailing `.`)"
    odd = next((s for s in segments[:-1] if not _WHOLE.match(s)), None) or next(
        (s for s in segments[-1:] if not _SEGMENT.match(s)), None
    )
    if odd is not None:
        return f"has a malformed wildcard segment `{odd}`"
    return None


class MalformedParamPattern(LintRule):
    """Flags parameter patterns that cannot match a real parameter name.

    ## What it does
    Checks every Megatron and HF pattern of each mapping: only letters, digits, `_`, `.` and
    wildcards; no empty segments (`..`, leading or trailing `.`); wildcards only as a whole segment
    (`*`, `**`) or as the trailing `*` of a last segment (grouped experts: `weight*`).

    ## Why is this bad?
    Such a pattern never matches, so the tensor it names is silently skipped on import and missing
    on export (a stray space or a doubled dot from string concatenation is enough).

    ## Use instead
    Dotted names with whole-segment wildcards.
    """

    CODE = "MBR023"
    NAME = "malformed-param-pattern"
    MESSAGE = "{side} pattern `{pattern}` {problem}"
    VALID = [
        _HEAD
        + '            AutoMapping(megatron_param="decoder.layers.*.mlp.experts.linear_fc2.weight*", hf_param="model.layers.*.mlp.experts.*.down_proj.weight"),\n        )\n',
    ]
    INVALID = [
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="decoder.layers.*..mlp.linear_fc2.weight", hf_param="model.layers.*.mlp.down_proj.weight"),\n        )\n',
            expected_lines=(10,),
        ),
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="decoder.final_layernorm.weight", hf_param="model.norm.weight "),\n        )\n',
            expected_message="whitespace",
        ),
        Invalid(
            _HEAD
            + '            AutoMapping(megatron_param="decoder.layers.*.mlp.linear_fc2.weight", hf_param="model.layers.layer*.mlp.down_proj.weight"),\n        )\n',
            expected_message="layer*",
        ),
    ]

    def check_bridge(self, bridge: BridgeRecord) -> Iterator[Finding]:
        if bridge.registry.inherits:
            mappings = [m for m in bridge.registry.mappings if m.location.path == bridge.path]
        else:
            mappings = bridge.registry.mappings
        seen: set[tuple] = set()
        for mapping in mappings:
            sides = [("Megatron", mapping.megatron_param)] if mapping.megatron_param is not None else []
            sides += [(f"HF `{role}`", p) for role, p in hf_patterns(mapping)]
            for side, pattern in sides:
                issue = problem(pattern)
                if issue and (mapping.location, pattern) not in seen:
                    seen.add((mapping.location, pattern))
                    yield self.finding(mapping.location, side=side, pattern=pattern, problem=issue)
