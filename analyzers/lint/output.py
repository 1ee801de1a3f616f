"""Render findings: ruff-like text, JSON, SARIF 2.1.0, GitHub Actions annotations, statistics."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from analyzers import __version__
from analyzers.lint.rule import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def text(findings: Iterable[Finding]) -> str:
    """`path:line:col: CODE [*] message`, one per line (`[*]`: --fix can fix it)."""
    return "".join(
        f"{f.location.path}:{f.location.line}:{f.location.col + 1}: {f.code}{' [*]' if f.fixable else ''} {f.message}\n"
        for f in findings
    )


def as_json(findings: Iterable[Finding]) -> str:
    rows = [
        {
            "code": f.code,
            "name": f.name,
            "message": f.message,
            "filename": f.location.path,
            "location": {"row": f.location.line, "column": f.location.col + 1},
            "end_location": {"row": f.end_line or f.location.line, "column": f.location.col + 1},
            "fix": None
            if not f.fix
            else {
                "message": f.fix_title,
                "edits": [
                    {"kind": e.kind, "path": e.path, "module": e.module, "names": list(e.names)}
                    for e in f.fix
                ],
            },
            "related": list(f.related),
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2) + "\n"


def sarif(findings: list[Finding], rules: list[type]) -> str:
    used = sorted({f.code for f in findings})
    by_code = {r.CODE: r for r in rules}
    descriptors = [
        {
            "id": code,
            "name": by_code[code].NAME if code in by_code else code,
            "shortDescription": {"text": by_code[code].summary() if code in by_code else code},
            "fullDescription": {"text": (by_code[code].__doc__ or "").strip() if code in by_code else code},
        }
        for code in used
    ]
    results = [
        {
            "ruleId": f.code,
            "ruleIndex": used.index(f.code),
            "level": "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.location.path},
                        "region": {"startLine": f.location.line, "startColumn": f.location.col + 1},
                    }
                }
            ],
        }
        for f in findings
    ]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bridgesmith-lint",
                        "version": __version__,
                        "informationUri": "https://github.com/NVIDIA-NeMo/Megatron-Bridge",
                        "rules": descriptors,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def github(findings: Iterable[Finding]) -> str:
    """GitHub Actions workflow commands: `::error file=...,line=...,col=...,title=CODE::message`."""
    return "".join(
        f"::error title={_escape(f'bridgesmith ({f.code})', True)},file={_escape(f.location.path, True)},"
        f"line={f.location.line},col={f.location.col + 1}::{_escape(f'{f.code} {f.message}')}\n"
        for f in findings
    )


def statistics(findings: list[Finding]) -> str:
    """One line per code: count, code, [*] when fixable, name (ruff's --statistics)."""
    counts = Counter(f.code for f in findings)
    fixable = {f.code for f in findings if f.fixable}
    names = {f.code: f.name for f in findings}
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{n:>{width}}\t{code}\t{'[*]' if code in fixable else '   '} {names[code]}\n"
        for code, n in counts.most_common()
    )
