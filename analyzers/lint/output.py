"""Render findings: ruff-like text, versioned JSON, SARIF 2.1.0, GitHub Actions annotations, statistics.

Every JSON document carries the envelope of `analyzers.envelope` (`schema_version` of its own shape,
bumped on incompatible changes, `tool_version`, `command`) and a `kind`. Rows count lines and columns from 1; `end_location` is exclusive, as ruff's.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzers import __version__, envelope
from analyzers.lint.rule import Finding, LintRule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "bridgesmith-lint"
INFORMATION_URI = "https://github.com/NVIDIA-NeMo/Megatron-Bridge"
#: SGR colours for --color (ruff's palette: bold path, red code, cyan [*])
BOLD, RED, CYAN, DIM, RESET = "\033[1m", "\033[31m", "\033[36m", "\033[2m", "\033[0m"


def versioned(kind: str, command: str = "lint", **payload: object) -> dict:
    """A lint JSON document: the shared envelope (tool `bridgesmith-lint`), then `kind` and `payload`."""
    return envelope.versioned(command, {"kind": kind, **payload}, tool=TOOL_NAME)


def dumps(doc: object) -> str:
    return json.dumps(doc, indent=2) + "\n"


@dataclass
class Report:
    """What the renderers need besides the findings."""

    root: Path
    rules: list[type[LintRule]]  #: the selected rules
    suppressed: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: the finding -> its fix as text edits (None: not fixable); computed lazily, only when rendered
    edits_of: Callable[[Finding], list | None] = lambda f: None
    end_of: Callable[[Finding], tuple[int, int]] = lambda f: (
        f.end_line or f.location.line,
        f.location.col + 1,
    )


def text(findings: Iterable[Finding], color: bool = False, show_fixes: bool = False) -> str:
    """`path:line:col: CODE [*] message`, one per line (`[*]`: --fix can fix it)."""
    out = []
    for f in findings:
        loc = f"{f.location.path}:{f.location.line}:{f.location.col + 1}:"
        star = " [*]" if f.fixable else ""
        if color:
            loc = f"{BOLD}{f.location.path}{RESET}:{f.location.line}:{f.location.col + 1}:"
            star = f" {CYAN}[*]{RESET}" if f.fixable else ""
            out.append(f"{loc} {BOLD}{RED}{f.code}{RESET}{star} {f.message}\n")
        else:
            out.append(f"{loc} {f.code}{star} {f.message}\n")
        if show_fixes and f.fix_title:
            out.append(f"  {DIM if color else ''}help: {f.fix_title}{RESET if color else ''}\n")
    return "".join(out)


def finding_json(f: Finding, report: Report) -> dict:
    end_row, end_col = report.end_of(f)
    edits = report.edits_of(f) if f.fixable else None
    return {
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "filename": f.location.path,
        "location": {"row": f.location.line, "column": f.location.col + 1},
        "end_location": {"row": end_row, "column": end_col},
        "fix": None
        if edits is None
        else {"message": f.fix_title, "applicability": "safe", "edits": [e.to_json() for e in edits]},
        "related": list(f.related),
    }


def as_json(findings: list[Finding], report: Report) -> str:
    return dumps(
        versioned(
            "findings",
            findings=[finding_json(f, report) for f in findings],
            suppressed=report.suppressed,
            warnings=report.warnings,
            errors=report.errors,
        )
    )


def rule_doc(rule: type[LintRule]) -> str:
    """The rule's docstring as Markdown: summary line, then the dedented sections."""
    return inspect.cleandoc(rule.__doc__ or rule.MESSAGE)


def rule_json(rule: type[LintRule]) -> dict:
    return {
        "code": rule.CODE,
        "name": rule.NAME,
        "summary": rule.summary(),
        "message": rule.MESSAGE,
        "fix": rule.FIX_TITLE,
        "default": rule.DEFAULT,
        "checkout_only": rule.CHECKOUT_ONLY,
        "level": rule.level(),
        "explanation": rule_doc(rule),
    }


def rule_markdown(rule: type[LintRule]) -> str:
    """`bridgesmith-lint rule CODE`: the rule's page, as ruff's `rule` prints it."""
    flags = [f"Fix: {rule.FIX_TITLE} (`--fix`)." if rule.FIX_TITLE else "No fix."]
    flags.append("On by default." if rule.DEFAULT else "Opt-in (`--select` it).")
    if rule.CHECKOUT_ONLY:
        flags.append("Needs a full checkout (tests/, docs/).")
    body = rule_doc(rule)
    summary, _, rest = body.partition("\n")
    return f"# {rule.NAME} ({rule.CODE})\n\n{summary}\n\n{' '.join(flags)}\n{rest}\n"


def sarif(findings: list[Finding], report: Report) -> str:
    """SARIF 2.1.0: every selected rule with its help, results with regions, fixes and fingerprints."""
    from analyzers.lint.baseline import SourceLines, fingerprint

    rules = sorted(report.rules, key=lambda r: r.CODE)
    index = {r.CODE: i for i, r in enumerate(rules)}
    descriptors = []
    for rule in rules:
        doc = rule_doc(rule)
        descriptors.append(
            {
                "id": rule.CODE,
                "name": rule.NAME,
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": doc.partition("\n")[2].strip() or doc},
                "help": {"text": doc, "markdown": rule_markdown(rule)},
                "defaultConfiguration": {"level": rule.level()},
                "properties": {"fixable": rule.FIX_TITLE is not None, "default": rule.DEFAULT},
            }
        )
    lines = SourceLines(report.root)
    results = []
    for f in findings:
        end_row, end_col = report.end_of(f)
        result: dict = {
            "ruleId": f.code,
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.location.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": f.location.line,
                            "startColumn": f.location.col + 1,
                            "endLine": end_row,
                            "endColumn": end_col,
                        },
                    }
                }
            ],
            "partialFingerprints": {"bridgesmith/v1": fingerprint(f, lines)},
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
            result["level"] = rules[index[f.code]].level()
        edits = report.edits_of(f) if f.fixable else None
        if edits:
            by_path: dict[str, list] = {}
            for e in edits:
                by_path.setdefault(e.path, []).append(
                    {
                        "deletedRegion": {
                            "startLine": e.row,
                            "startColumn": e.column,
                            "endLine": e.end_row,
                            "endColumn": e.end_column,
                        },
                        "insertedContent": {"text": e.content},
                    }
                )
            result["fixes"] = [
                {
                    "description": {"text": f.fix_title or "fix"},
                    "artifactChanges": [
                        {"artifactLocation": {"uri": p, "uriBaseId": "%SRCROOT%"}, "replacements": r}
                        for p, r in sorted(by_path.items())
                    ],
                }
            ]
        results.append(result)
    notifications = [{"level": "warning", "message": {"text": w}} for w in report.warnings] + [
        {"level": "error", "message": {"text": e}} for e in report.errors
    ]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.root.as_uri() + "/"}},
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }
    return dumps(doc)


def _escape(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def github(findings: Iterable[Finding], levels: dict[str, str] | None = None) -> str:
    """GitHub Actions workflow commands: `::error file=...,line=...,col=...,title=CODE::message`."""
    levels = levels or {}
    out = []
    for f in findings:
        kind = {"error": "error", "warning": "warning", "note": "notice"}.get(
            levels.get(f.code, "error"), "error"
        )
        out.append(
            f"::{kind} title={_escape(f'bridgesmith ({f.code})', True)},file={_escape(f.location.path, True)},"
            f"line={f.location.line},col={f.location.col + 1}::{_escape(f'{f.code} {f.message}')}\n"
        )
    return "".join(out)


def statistics_rows(findings: list[Finding]) -> list[dict]:
    counts = Counter(f.code for f in findings)
    fixable = {f.code for f in findings if f.fixable}
    names = {f.code: f.name for f in findings}
    return [
        {"code": code, "name": names[code], "count": n, "fixable": code in fixable}
        for code, n in counts.most_common()
    ]


def statistics(findings: list[Finding]) -> str:
    """One line per code: count, code, [*] when fixable, name (ruff's --statistics)."""
    rows = statistics_rows(findings)
    width = max((len(str(r["count"])) for r in rows), default=1)
    return "".join(
        f"{r['count']:>{width}}\t{r['code']}\t{'[*]' if r['fixable'] else '   '} {r['name']}\n" for r in rows
    )
