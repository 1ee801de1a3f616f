"""clone-family's templates ship as package data: in the wheel, in the sdist, and readable when installed."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

from codemods.clone_family._templates import TODO, license_header, render

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT / "codemods/clone_family/templates"


def _templates() -> set[str]:
    return {p.relative_to(PROJECT).as_posix() for p in TEMPLATES.rglob("*") if p.is_file()}


def test_wheel_and_sdist_carry_the_templates(tmp_path: Path, monkeypatch) -> None:
    from setuptools import build_meta

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE"):
        shutil.copy(PROJECT / name, source / name)
    for package in ("analyzers", "codemods"):
        shutil.copytree(PROJECT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(source)
    wheel = build_meta.build_wheel(str(tmp_path / "dist"))
    assert _templates() <= set(zipfile.ZipFile(tmp_path / "dist" / wheel).namelist())
    sdist = build_meta.build_sdist(str(tmp_path / "dist"))
    prefix = sdist.removesuffix(".tar.gz") + "/"
    with tarfile.open(tmp_path / "dist" / sdist) as tar:
        assert _templates() <= {m.name.removeprefix(prefix) for m in tar.getmembers() if m.isfile()}


def test_templates_fill_every_placeholder() -> None:
    values = dict(
        class_prefix="Qwen4",
        stem="qwen4",
        hf_id="Org/Qwen4",
        hf_id_shell="Org/Qwen4",
        source_bridge="Qwen3Bridge",
        source_stem="qwen3",
        todo=TODO,
        license_header=license_header(2026),
        generate_script="hf_to_megatron_generate_text.py",
        image_arg="",
        function="post_norm_layer_spec",
        teachers="Gemma2Bridge",
        class_name="FusedGateUpMLPMapping",
        hf_example="model.layers.*.mlp.gate_up_proj.weight",
    )
    for path in sorted(_templates()):
        text = render(path.removeprefix("codemods/clone_family/templates/"), **values, year=2026)
        assert "{{" not in text and "}}" not in text, path
    assert render("examples/conversion.sh", **values).startswith("#!/usr/bin/env bash\n# Copyright (c) 2026,")
    assert "${WORKSPACE}/models/qwen4" in render("examples/conversion.sh", **values)
