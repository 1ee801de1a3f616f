"""Text lines for the implied provider settings and the expressibility of a config (inspect, nearest)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from analyzers.expressibility import Feature
from analyzers.implied_setting import ImpliedSetting

#: teachers shown per setting in text (JSON has all)
SHOWN = 4


def _teachers(names: list[str]) -> str:
    if not names:
        return "no bridge teaches it"
    more = f" +{len(names) - SHOWN}" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def features_text(supported: list[Feature], unsupported: list[Feature]) -> Iterator[str]:
    """What the config needs that changes the function: handled by which bridge, or unsupported and why."""
    if not supported and not unsupported:
        yield "function-changing features: none beyond a plain decoder"
        return
    yield f"function-changing features: {len(supported)} handled by some bridge, {len(unsupported)} unsupported"
    for f in supported:
        attrs = f" -> {', '.join(f.attrs)}" if f.attrs else ""
        yield f"  + {f.name} ({'; '.join(f.evidence)}){attrs}: {_teachers(f.handled_by)}"
    for f in unsupported:
        neutral = " [neutral here]" if f.neutral else ""
        yield f"  - {f.name} ({'; '.join(f.evidence)}){neutral}: UNSUPPORTED, needs {f.needs}"


def warn_unchecked(command: str, lines: list[str]) -> None:
    """Expressibility rules that could not run, on stderr: an absent rule is no supported feature, so
    silence would read as "nothing unsupported"."""
    for line in lines:
        print(f"warning: {command}: expressibility {line}", file=sys.stderr)


def implied_text(implied: list[ImpliedSetting], top: Any | None = None) -> Iterator[str]:
    """The implied settings, each with its teachers; with `top` (a Candidate), what it does with each."""
    status = {}
    if top is not None and top.provider:
        for attr in top.provider["sets"]:
            status[attr] = "sets"
        for attr in top.provider["default_matches"]:
            status[attr] = "default ok"
        for c in top.provider["contradicts"]:
            status[c["attr"]] = f"CONTRADICTS: {c['candidate']!r}"
        for c in top.provider["must_set"]:
            status[c["attr"]] = f"must set (default {c['default']!r})"
    yield "implied provider settings" + (f" (vs {top.bridge})" if top is not None else "") + ":"
    for s in implied:
        if s.category == "shape":
            continue
        mark = f"  [{status[s.attr]}]" if s.attr in status else ""
        yield f"  {s.category:<15} {s.attr} = {s.value!r}{mark}   from {', '.join(s.fields)} ({s.evidence}); {_teachers(s.teachers)}"
    if top is not None and top.provider and top.provider["missing_reads"]:
        yield f"  {top.bridge} reads fields the config lacks (AttributeError at load):"
        for m in top.provider["missing_reads"]:
            yield f"    {m['attr']} = {m['expression']}   ({m['field']} missing)"
