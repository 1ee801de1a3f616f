"""`python -m analyzers lint [FILES...]`: bridge-consistency lint with ruff-like output, fixes and formats."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analyzers.cli_common import add_repo_argument
from analyzers.errors import RepoError, UsageError
from analyzers.walk import BUT_CACHES, iter_files

HELP = "check that bridges, registrations, mappings, recipes, tests and docs agree (rules MBRxxx)"
FORMATS = ("text", "json", "sarif", "github")
#: folders of the tree whose staged deletions a --pre-commit run considers (the hooks' `files`)
HOOK_FOLDERS = ("src/megatron/bridge/", "docs/", "tests/")


def _codes(value: str) -> list[str]:
    return [v.strip().upper() for v in value.split(",") if v.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_repo_argument(parser)
    parser.add_argument(
        "files", nargs="*", help="check these files (plus the tree-level findings they affect)"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print the findings only (no summary)")
    parser.add_argument(
        "--output-file", metavar="FILE", default=None, help="write the report to FILE instead of stdout"
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text output (auto: on a terminal, unless NO_COLOR is set)",
    )
    parser.add_argument(
        "--show-fixes",
        action="store_true",
        help="show each fixable finding's fix (with --fix: list what was fixed)",
    )
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
        "--extend-ignore", type=_codes, default=None, metavar="CODES", help="codes added to the ignored ones"
    )
    parser.add_argument(
        "--exclude",
        type=lambda v: [p.strip() for p in v.split(",") if p.strip()],
        default=None,
        metavar="PATTERNS",
        help="comma-separated file patterns whose findings are not reported (replaces the config's)",
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
    parser.add_argument(
        "-v",
        "--verbose",
        "--show-notes",
        dest="show_notes",
        action="store_true",
        help="also print notes (rules skipped on this tree) to stderr",
    )
    parser.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        default=None,
        help="report only findings this baseline does not record (default: the config's `baseline`)",
    )
    parser.add_argument(
        "--write-baseline",
        action="store_true",
        help="record today's findings in the --baseline file (whole tree) and exit 0",
    )
    parser.add_argument(
        "--add-noqa", action="store_true", help="add `# noqa: MBRxxx` to the line of every reported finding"
    )
    parser.add_argument(
        "--pre-commit",
        action="store_true",
        help="FILES are a commit's staged files (the hook's mode): add the staged deletions; block on "
        "findings in them or caused by them, count the rest",
    )


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
                for p in iter_files(absolute, (".py", ".md"), skip=BUT_CACHES)
            )
        else:
            out.append(rel.as_posix())
    return list(dict.fromkeys(out))


def _staged_deletions(root: Path) -> list[str]:
    """Paths (relative to the tree) that the index deletes: pre-commit passes only files that exist."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "diff", "--cached", "--name-only", "--diff-filter=D", "--relative", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []  # not a git work tree: nothing staged
    names = out.decode("utf-8", "surrogateescape").split("\0")
    # what the hooks' `files` pattern takes (pre-commit filters the files it passes, not these)
    return sorted(p for p in names if p.startswith(HOOK_FOLDERS) and p.endswith((".py", ".md")))


def _baseline_path(args: argparse.Namespace, config, repo_root: Path) -> Path | None:
    if args.baseline is not None:
        path = Path(args.baseline)
        if not path.is_absolute() and not path.exists() and (repo_root / path).parent.is_dir():
            path = repo_root / path  # like FILES: relative to the cwd, else to --repo
        return path
    return config.baseline_path


def _split_scope(findings, given: set[str], deleted: set[str], have_baseline: bool):
    """(blocking, counted) for a run given FILES: a finding blocks when it is in a given file, relates to
    a deleted one, or (with a baseline, which has already dropped the old ones) is new anywhere."""
    blocking, counted = [], []
    for finding in findings:
        if have_baseline or finding.path in given or deleted.intersection(finding.related):
            blocking.append(finding)
        else:
            counted.append(finding)
    return blocking, counted


def _use_color(choice: str, stream) -> bool:
    import os

    if choice != "auto":
        return choice == "always"
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def list_rules(fmt: str) -> str:
    from analyzers.lint.engine import ALL_RULES
    from analyzers.lint.output import dumps, rule_json, versioned

    if fmt == "json":
        return dumps(versioned("rules", rules=[rule_json(r) for r in ALL_RULES]))
    lines = []
    for rule in ALL_RULES:
        extra = " (checkout only)" if rule.CHECKOUT_ONLY else ""
        fix = " [*]" if rule.FIX_TITLE else ""
        lines.append(f"{rule.CODE}\t{rule.NAME}{fix}{extra}\t{rule.summary()}\n")
    return "".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.output_file:
        return _run(args, sys.stdout)
    import io
    import os

    target = Path(args.output_file)
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK) or target.is_dir():
        raise UsageError("cannot write the report there", args.output_file)
    buffer = io.StringIO()
    code = _run(args, buffer)  # an error raises before anything is written
    try:
        target.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write: {exc.strerror}", args.output_file) from None
    return code


def _run(args: argparse.Namespace, out) -> int:
    from analyzers.lint.config import load_config, override
    from analyzers.lint.engine import lint_tree
    from analyzers.repo import find_repo

    if args.format in ("sarif", "github"):
        for flag in ("list_rules", "statistics", "diff"):
            if getattr(args, flag):
                raise UsageError(
                    f"--{flag.replace('_', '-')} prints text or json, not --format {args.format}"
                )
    if args.list_rules:
        out.write(list_rules(args.format))
        return 0
    modes = [m for m in ("fix", "diff", "add_noqa", "write_baseline") if getattr(args, m)]
    if len(modes) > 1:
        raise UsageError(" and ".join(f"--{m.replace('_', '-')}" for m in modes) + " do not go together")
    repo = find_repo(args.repo)
    config_path = Path(args.config) if args.config else None
    if config_path is not None and not config_path.is_absolute() and not config_path.exists():
        if (repo.root / config_path).exists():
            config_path = repo.root / config_path  # like FILES: the cwd first, then --repo
    config = load_config(repo.root, config_path)
    config = override(config, args.select, args.ignore, args.extend_select, args.extend_ignore, args.exclude)
    baseline_path = _baseline_path(args, config, repo.root)
    if args.write_baseline and (baseline_path is None or args.files or args.pre_commit):
        raise UsageError(
            "--write-baseline needs --baseline FILE (or `baseline` in the config) and records the whole tree"
        )
    paths = _relative(repo.root, args.files) if args.files else None
    deleted: list[str] = []
    if args.pre_commit:
        deleted = _staged_deletions(repo.root)
        if not paths and not deleted and args.format not in ("json", "sarif"):
            return 0  # nothing the lint reads is staged (json and sarif still print their empty document)
        paths = [*(paths or []), *deleted]
    result = lint_tree(repo.root, config, paths=paths, use_cache=not args.no_cache)
    findings = result.findings
    quiet = args.quiet

    not_run = {n.split(" ", 1)[0] for n in [*result.notes, *result.warnings, *result.errors]}

    def report_problems() -> None:
        if args.show_notes:
            for note in result.notes:
                print(f"note: {note}", file=sys.stderr)
        if result.rules_run and not set(result.rules_run) - not_run:
            print(
                "warning: none of the selected rules ran on this tree (-v says why): nothing was checked",
                file=sys.stderr,
            )
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for error in result.errors:
            print(f"error: {error}", file=sys.stderr)

    if args.write_baseline:
        from analyzers.lint.baseline import write_baseline

        report_problems()
        if result.errors:
            return 2
        count = write_baseline(baseline_path, findings, repo.root)
        if not quiet:
            print(f"Recorded {count} finding(s) in {baseline_path}.", file=sys.stderr)
        return 0
    in_baseline = 0
    if baseline_path is not None:
        from analyzers.lint.baseline import read_baseline, split_new

        recorded = read_baseline(baseline_path)
        findings, old = split_new(findings, recorded, repo.root)
        in_baseline = len(old)
        gone = sum(recorded.values()) - in_baseline
        if paths is None and gone and not quiet:
            print(
                f"note: {gone} finding(s) recorded in {baseline_path.name} are gone; "
                "--write-baseline again to drop them",
                file=sys.stderr,
            )
    elsewhere: list = []
    if paths is not None:
        findings, elsewhere = _split_scope(findings, set(paths), set(deleted), baseline_path is not None)

    if args.add_noqa:
        from analyzers.lint.fixes import write_changes
        from analyzers.lint.noqa import plan_noqa

        changes, skipped = plan_noqa(repo.root, findings)
        write_changes(repo.root, changes, "lint --add-noqa")
        added = len(findings) - len(skipped)
        print(f"Added {added} noqa directive(s) in {len(changes)} file(s).", file=sys.stderr)
        for finding in skipped:
            print(f"warning: {finding.location}: {finding.code} cannot take a noqa comment", file=sys.stderr)
        report_problems()
        return 2 if result.errors else 0

    fixed_summary: list = []
    if args.fix or args.diff:
        from analyzers.lint.fixes import compute_fixes

        fixable = findings
        if args.pre_commit:
            staged = set(paths or [])
            fixable = []
            for finding in findings:
                outside = sorted({e.path for e in finding.fix or ()} - staged)
                if outside:
                    print(
                        f"warning: {finding.location}: {finding.code} fix not applied: it would edit "
                        f"{', '.join(outside)}, which is not staged",
                        file=sys.stderr,
                    )
                else:
                    fixable.append(finding)
        fixes = compute_fixes(repo.root, fixable)
        for finding, reason in fixes.failures:
            print(f"warning: {finding.location}: {finding.code} fix not applied: {reason}", file=sys.stderr)
        for warning in fixes.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        output = fix_output(fixes, applied=not args.diff, quiet=quiet)
        if args.diff:
            output.present(args.format, out=out, indent=2)
            report_problems()
            if result.errors:
                return 2
            return 0 if args.exit_zero or not fixes.fixed else 1
        fixes.write()
        fixed_ids = {id(f) for f in fixes.fixed}
        findings = [f for f in findings if id(f) not in fixed_ids]
        fixed_summary = fixes.fixed
        output.print_summary()  # stdout carries the findings that are left

    fmt = args.format
    color = fmt == "text" and _use_color(args.color, out)
    if args.statistics:
        from analyzers.lint.output import dumps, statistics, statistics_rows, versioned

        if fmt == "json":
            out.write(dumps(versioned("statistics", statistics=statistics_rows(findings))))
        else:
            out.write(statistics(findings))
    elif fmt in ("json", "sarif"):
        from analyzers.lint.engine import BY_CODE
        from analyzers.lint.output import Report, as_json, sarif
        from analyzers.lint.ranges import Ends

        ends = Ends(repo.root)
        memo: dict[int, list | None] = {}

        def edits_of(finding):
            if id(finding) not in memo:
                from analyzers.lint.fixes import finding_edits

                memo[id(finding)] = finding_edits(repo.root, finding)
            return memo[id(finding)]

        report = Report(
            root=repo.root,
            rules=[BY_CODE[c] for c in result.rules_run if c in BY_CODE],
            suppressed=result.suppressed,
            warnings=result.warnings,
            errors=result.errors,
            edits_of=edits_of,
            end_of=ends.end,
        )
        out.write(as_json(findings, report) if fmt == "json" else sarif(findings, report))
    elif fmt == "github":
        from analyzers.lint.engine import BY_CODE
        from analyzers.lint.output import github

        out.write(github(findings, {c: r.level() for c, r in BY_CODE.items()}))
    else:
        from analyzers.lint.output import text

        out.write(text(findings, color=color, show_fixes=args.show_fixes))
    report_problems()
    if result.errors:
        return 2
    if fmt == "text" and not quiet and not args.statistics:
        if args.show_fixes and fixed_summary:
            out.write(_fixed_listing(fixed_summary))
        fixable = sum(1 for f in findings if f.fixable)
        if findings:
            hint = f" ({fixable} fixable with `--fix`)" if fixable else ""
            out.write(f"Found {len(findings)} finding(s){hint}; {result.suppressed} suppressed.\n")
        else:
            out.write(f"All checks passed ({result.files_checked} files).\n")
        hidden = _hidden_summary(in_baseline, len(elsewhere))
        if hidden:
            out.write(hidden + "\n")
    return 0 if args.exit_zero or not findings else 1


def fix_output(fixes, *, applied: bool, quiet: bool):
    """The fixes as every write command presents its change set (`analyzers.change_output`): the `fixes`
    document (each file's text edits, the findings fixed) and the one summary line."""
    from analyzers.change_output import ChangeOutput
    from analyzers.lint.output import TOOL_NAME

    n, files = len(fixes.fixed), len(fixes.files)
    line = (
        f"Fixed {n} finding(s) in {files} file(s)."
        if applied
        else f"{n} fix(es) would be applied to {files} file(s)"
    )
    edits = fixes.edits()
    return ChangeOutput(
        fixes.changes,
        "lint",
        applied,
        summary=[] if quiet else [line],
        details={"fixed": [f"{f.location}: {f.code}" for f in fixes.fixed]},
        file_fields={
            c.path: {"edits": [e.to_json() for e in edits if e.path == c.path]} for c in fixes.files
        },
        kind="fixes",
        tool=TOOL_NAME,
    )


def _fixed_listing(fixed: list) -> str:
    """ruff's --show-fixes listing: per file, count x code (name)."""
    from collections import Counter

    lines = [f"Fixed {len(fixed)} finding(s):\n"]
    by_path: dict[str, Counter] = {}
    for f in fixed:
        by_path.setdefault(f.path, Counter())[(f.code, f.name)] += 1
    for path, counts in sorted(by_path.items()):
        lines.append(f"- {path}:\n")
        lines.extend(f"    {n} \u00d7 {code} ({name})\n" for (code, name), n in sorted(counts.items()))
    return "".join(lines)


def _hidden_summary(in_baseline: int, elsewhere: int) -> str:
    """One line for what is not shown: findings the baseline records, findings in files not given."""
    parts = []
    if in_baseline:
        parts.append(f"{in_baseline} recorded in the baseline")
    if elsewhere:
        parts.append(f"{elsewhere} in other files these can affect (with a baseline, new ones there block)")
    return f"Not shown: {'; '.join(parts)}." if parts else ""
