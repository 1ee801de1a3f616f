"""`python -m analyzers lint [FILES...]`: bridge-consistency lint with ruff-like output, fixes and formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzers.cli_common import add_repo_argument
from analyzers.errors import RepoError

HELP = "check that bridges, registrations, mappings, recipes, tests and docs agree (rules MBRxxx)"
FORMATS = ("text", "json", "sarif", "github")


def _codes(value: str) -> list[str]:
    return [v.strip().upper() for v in value.split(",") if v.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    parser.add_argument(
        "files", nargs="*", help="check these files (plus the tree-level findings they affect)"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--select",
        type=_codes,
        default=None,
        metavar="CODES",
        help="comma-separated codes/prefixes (replaces the config's)",
    )
    parser.add_argument(
        "--ignore", type=_codes, default=None, metavar="CODES", help="comma-separated codes/prefixes to skip"
    )
    parser.add_argument(
        "--extend-select", type=_codes, default=None, metavar="CODES", help="codes added to the selection"
    )
    parser.add_argument(
        "--config", default=None, metavar="PYPROJECT", help="read [tool.bridgesmith.lint] from this file"
    )
    parser.add_argument("--fix", action="store_true", help="apply the fixes of fixable findings ([*])")
    parser.add_argument(
        "--diff", action="store_true", help="print the fixes as a unified diff; write nothing"
    )
    parser.add_argument(
        "--statistics", action="store_true", help="count findings per rule instead of listing them"
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when something is found")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not write the result caches")
    parser.add_argument("--show-notes", action="store_true", help="print notes (skipped rules) to stderr")
    parser.add_argument("--list-rules", action="store_true", help="list every rule and exit")


def _relative(repo_root: Path, files: list[str]) -> list[str]:
    """FILES as paths relative to the tree: each resolved against the current directory, then `--repo`.

    A folder stands for the files under it; a name that is neither a file nor a folder, or one outside
    the tree, is an error (a typo must not pass as "All checks passed").
    """
    out: list[str] = []
    for name in files:
        path = Path(name)
        candidates = [path] if path.is_absolute() else [Path.cwd() / path, repo_root / path]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise RepoError("no such file or directory", name)
        absolute = found.resolve()
        try:
            rel = absolute.relative_to(repo_root)
        except ValueError:
            raise RepoError(f"outside the tree at {repo_root}", name) from None
        if absolute.is_dir():
            out.extend(
                p.relative_to(repo_root).as_posix()
                for p in sorted(absolute.rglob("*"))
                if p.suffix in (".py", ".md") and p.is_file() and "__pycache__" not in p.parts
            )
        else:
            out.append(rel.as_posix())
    return list(dict.fromkeys(out))


def run(args: argparse.Namespace) -> int:
    from analyzers.lint.config import load_config, override
    from analyzers.lint.engine import lint_tree
    from analyzers.repo import find_repo

    if args.list_rules:
        from analyzers.rules import ALL_RULES

        for rule in ALL_RULES:
            extra = " (checkout only)" if rule.CHECKOUT_ONLY else ""
            fix = " [*]" if rule.FIX_TITLE else ""
            print(f"{rule.CODE}\t{rule.NAME}{fix}{extra}\t{rule.summary()}")
        return 0
    repo = find_repo(args.repo)
    config = load_config(repo.root, Path(args.config) if args.config else None)
    config = override(config, args.select, args.ignore, args.extend_select)
    paths = _relative(repo.root, args.files) if args.files else None
    result = lint_tree(repo.root, config, paths=paths, use_cache=not args.no_cache)
    findings = result.findings

    if args.fix or args.diff:
        from analyzers.lint.fixes import plan_fixes

        plan, fixed, failures = plan_fixes(repo.root, findings)
        for finding, reason in failures:
            print(f"warning: {finding.location}: {finding.code} fix not applied: {reason}", file=sys.stderr)
        if args.diff:
            sys.stdout.write(plan.preview())
            print(f"{len(fixed)} fix(es) would be applied to {len(plan.changes)} file(s)", file=sys.stderr)
            return 0 if args.exit_zero or not fixed else 1
        plan.apply()
        fixed_ids = {id(f) for f in fixed}
        findings = [f for f in findings if id(f) not in fixed_ids]
        print(f"Fixed {len(fixed)} finding(s) in {len(plan.changes)} file(s).", file=sys.stderr)

    fmt = args.format
    if args.statistics and fmt == "text":
        from analyzers.lint.output import statistics

        sys.stdout.write(statistics(findings))
    elif fmt == "json":
        from analyzers.lint.output import as_json

        sys.stdout.write(as_json(findings))
    elif fmt == "sarif":
        from analyzers.lint.output import sarif
        from analyzers.rules import ALL_RULES

        sys.stdout.write(sarif(findings, ALL_RULES))
    elif fmt == "github":
        from analyzers.lint.output import github

        sys.stdout.write(github(findings))
    else:
        from analyzers.lint.output import text

        sys.stdout.write(text(findings))
    if args.show_notes:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(f"error: {error}", file=sys.stderr)
    if result.errors:
        return 2
    if fmt == "text":
        fixable = sum(1 for f in findings if f.fixable)
        if findings:
            hint = f" ({fixable} fixable with `--fix`)" if fixable else ""
            print(f"Found {len(findings)} finding(s){hint}; {result.suppressed} suppressed.", file=sys.stderr)
        else:
            print(f"All checks passed ({result.files_checked} files).", file=sys.stderr)
    return 0 if args.exit_zero or not findings else 1
