"""The sdist can run the test suite: it carries the tests, fixtures, tox.ini, requirements and the LICENSE."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _listed(folder: str) -> set[str]:
    return {
        p.relative_to(PROJECT).as_posix()
        for p in (PROJECT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    }


#: what a release checkout does not hold (environments, caches, bench output)
_NOT_RELEASED = shutil.ignore_patterns(
    ".git", ".venv*", ".tox", "out", "__pycache__", "*.egg-info", "build", "dist"
)


def test_sdist_is_complete(tmp_path: Path, monkeypatch) -> None:
    from setuptools import build_meta

    source = tmp_path / "source"
    shutil.copytree(PROJECT, source, ignore=_NOT_RELEASED)
    monkeypatch.chdir(source)
    name = build_meta.build_sdist(str(tmp_path))
    with tarfile.open(tmp_path / name) as tar:
        prefix = name.removesuffix(".tar.gz") + "/"
        members = {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}
    wanted = _listed("tests") | _listed("fixtures") | _listed("requirements")
    wanted |= {"LICENSE", "tox.ini", ".pre-commit-hooks.yaml", "analyzers/rules/hf_model_types.json"}
    assert not wanted - members, sorted(wanted - members)[:5]
    assert "Apache License" in (PROJECT / "LICENSE").read_text().splitlines()[1]
