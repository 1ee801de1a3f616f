"""Mutation benchmark: plant defects in a copy of the real tree and measure recall per rule.

    python bench/lint_mutations.py [--repo /tmp/mbfull] [--out bench/out/lint_mutations.txt]

Copies the tree once, lints the clean copy (its findings are the baseline; with `--clean-ref` they
are compared against a second lint of the untouched original: new findings on the clean copy must be
none), then applies each mutation, lints, and counts the mutation as caught when a finding of the
expected code appears that the baseline does not have. Every mutation is reverted before the next.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
B = "src/megatron/bridge"
Q3 = f"{B}/models/qwen/qwen3_bridge.py"
LL = f"{B}/models/llama/llama_bridge.py"


class Tree:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.saved: dict[str, bytes | None] = {}
        self.moved: list[tuple[Path, Path]] = []

    def _save(self, rel: str) -> None:
        if rel not in self.saved:
            path = self.root / rel
            self.saved[rel] = path.read_bytes() if path.exists() else None

    def replace(self, rel: str, old: str, new: str, regex: bool = False) -> None:
        self._save(rel)
        text = (self.root / rel).read_text()
        updated = re.sub(old, new, text, count=1, flags=re.S) if regex else text.replace(old, new, 1)
        if updated == text:
            raise AssertionError(f"mutation anchor not found in {rel}: {old[:60]!r}")
        (self.root / rel).write_text(updated)

    def append(self, rel: str, text: str) -> None:
        self._save(rel)
        path = self.root / rel
        old = path.read_bytes() if path.exists() else b""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(old + (text.encode() if isinstance(text, str) else text))

    def remove(self, rel: str) -> None:
        path = self.root / rel
        aside = Path(tempfile.mkdtemp()) / path.name
        shutil.move(str(path), aside)
        self.moved.append((aside, path))

    def revert(self) -> None:
        for rel, data in self.saved.items():
            path = self.root / rel
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        for aside, path in reversed(self.moved):
            shutil.move(str(aside), path)
        self.saved, self.moved = {}, []


#: (expected code, description, mutation)
MUTATIONS = [
    ("MBR000", "syntax error in a bridge", lambda t: t.append(LL, "\ndef broken(:\n    pass\n")),
    (
        "MBR000",
        "latin-1 byte in a recipe",
        lambda t: t.append(f"{B}/recipes/llama/llama3.py", b"\n# caf\xe9\n"),
    ),
    (
        "MBR001",
        "drop Qwen3Bridge import from qwen/__init__",
        lambda t: t.replace(
            f"{B}/models/qwen/__init__.py",
            "from megatron.bridge.models.qwen.qwen3_bridge import Qwen3Bridge  # noqa: F401\n",
            "",
        ),
    ),
    (
        "MBR001",
        "drop OlMoEBridge import from olmoe/__init__",
        lambda t: t.replace(
            f"{B}/models/olmoe/__init__.py",
            "from megatron.bridge.models.olmoe.olmoe_bridge import OlMoEBridge\n",
            "",
        ),
    ),
    (
        "MBR002",
        "drop LlamaBridge from llama.__all__",
        lambda t: t.replace(f"{B}/models/llama/__init__.py", '    "LlamaBridge",\n', ""),
    ),
    (
        "MBR002",
        "drop OlMoEBridge from olmoe.__all__",
        lambda t: t.replace(f"{B}/models/olmoe/__init__.py", '    "OlMoEBridge",\n', ""),
    ),
    (
        "MBR003",
        "drop the olmoe import from models/__init__",
        lambda t: t.replace(
            f"{B}/models/__init__.py",
            r"from megatron\.bridge\.models\.olmoe import \([^)]*\)\n",
            "",
            regex=True,
        ),
    ),
    (
        "MBR004",
        "drop LlamaBridge from models.__all__",
        lambda t: t.replace(f"{B}/models/__init__.py", '    "LlamaBridge",\n', ""),
    ),
    (
        "MBR004",
        "drop OlMoEBridge from models.__all__",
        lambda t: t.replace(f"{B}/models/__init__.py", '    "OlMoEBridge",\n', ""),
    ),
    (
        "MBR005",
        "duplicate LlamaBridge in models.__all__",
        lambda t: t.replace(
            f"{B}/models/__init__.py", '    "LlamaBridge",\n', '    "LlamaBridge",\n    "LlamaBridge",\n'
        ),
    ),
    (
        "MBR005",
        "duplicate OlMoEBridge in olmoe.__all__",
        lambda t: t.replace(
            f"{B}/models/olmoe/__init__.py",
            '    "OlMoEBridge",\n',
            '    "OlMoEBridge",\n    "OlMoEBridge",\n',
        ),
    ),
    (
        "MBR006",
        "delete glm45_bridge.py (glm/__init__ still imports it)",
        lambda t: t.remove(f"{B}/models/glm/glm45_bridge.py"),
    ),
    (
        "MBR006",
        "delete olmoe_provider.py (olmoe/__init__ still imports it)",
        lambda t: t.remove(f"{B}/models/olmoe/olmoe_provider.py"),
    ),
    ("MBR010", "drop model_type of LlamaBridge", lambda t: t.replace(LL, ', model_type="llama")', ")")),
    (
        "MBR011",
        "OlMoE registered as model_type llama",
        lambda t: t.replace(f"{B}/models/olmoe/olmoe_bridge.py", 'model_type="olmoe"', 'model_type="llama"'),
    ),
    (
        "MBR012",
        "OlMoE registered for LlamaForCausalLM",
        lambda t: t.replace(
            f"{B}/models/olmoe/olmoe_bridge.py", "source=OlmoeForCausalLM", 'source="LlamaForCausalLM"'
        ),
    ),
    (
        "MBR013",
        "Qwen3 registered with model_type qwen2",
        lambda t: t.replace(Q3, 'model_type="qwen3"', 'model_type="qwen2"'),
    ),
    (
        "MBR020",
        "o_proj HF pattern loses its layer wildcard",
        lambda t: t.replace(
            Q3, '"model.layers.*.self_attn.o_proj.weight"', '"model.layers.self_attn.o_proj.weight"'
        ),
    ),
    (
        "MBR020",
        "QKV v pattern gets an extra wildcard",
        lambda t: t.replace(
            f"{B}/models/llama/llama_bridge.py",
            'v="model.layers.*.self_attn.v_proj.weight"',
            'v="model.layers.*.*.self_attn.v_proj.weight"',
        ),
    ),
    (
        "MBR021",
        "output_layer mapped twice",
        lambda t: t.replace(
            Q3,
            "        return MegatronMappingRegistry(*mapping_list)",
            '        mapping_list.append(AutoMapping(megatron_param="output_layer.weight", hf_param="model.embed_tokens.weight"))\n        return MegatronMappingRegistry(*mapping_list)',
        ),
    ),
    (
        "MBR021",
        "final norm mapped twice",
        lambda t: t.replace(
            LL,
            "        return MegatronMappingRegistry(*mapping_list)",
            '        mapping_list.append(AutoMapping(megatron_param="decoder.final_layernorm.weight", hf_param="model.layers.0.input_layernorm.weight"))\n        return MegatronMappingRegistry(*mapping_list)',
        ),
    ),
    (
        "MBR022",
        "k_layernorm reads q_norm",
        lambda t: t.replace(
            Q3,
            '"model.layers.*.self_attn.k_norm.weight",  # Qwen3 specific',
            '"model.layers.*.self_attn.q_norm.weight",  # Qwen3 specific',
        ),
    ),
    (
        "MBR022",
        "linear_proj reads down_proj",
        lambda t: t.replace(
            Q3, '"model.layers.*.self_attn.o_proj.weight"', '"model.layers.*.mlp.down_proj.weight"'
        ),
    ),
    (
        "MBR023",
        "doubled dot in a pattern",
        lambda t: t.replace(Q3, '"model.norm.weight"', '"model..norm.weight"'),
    ),
    (
        "MBR023",
        "trailing space in a pattern",
        lambda t: t.replace(Q3, '"model.embed_tokens.weight"', '"model.embed_tokens.weight "'),
    ),
    (
        "MBR030",
        "size-specific provider",
        lambda t: t.append(Q3, "\n\nclass Qwen3ModelProvider8B(GPTModelProvider):\n    pass\n"),
    ),
    (
        "MBR031",
        "model_type branch in conversion utils",
        lambda t: t.append(
            f"{B}/models/conversion/utils.py",
            '\n\ndef _special(config):\n    if config.model_type == "qwen3":\n        return 1\n    return 0\n',
        ),
    ),
    (
        "MBR032",
        "LlamaBridge overrides build_conversion_tasks",
        lambda t: t.replace(
            LL,
            "class LlamaBridge(MegatronModelBridge):\n",
            "class LlamaBridge(MegatronModelBridge):\n    def build_conversion_tasks(self, hf_pretrained, megatron_model):\n        return super().build_conversion_tasks(hf_pretrained, megatron_model)\n\n",
        ),
    ),
    (
        "MBR033",
        "Qwen3 provider without super()",
        lambda t: t.replace(
            Q3,
            "provider = super().provider_bridge(hf_pretrained)",
            "provider = Qwen3ModelProvider(hidden_size=hf_pretrained.config.hidden_size)",
        ),
    ),
    (
        "MBR034",
        "Qwen3-VL reads tie_word_embeddings from text_config",
        lambda t: t.replace(
            f"{B}/models/qwen_vl/qwen3_vl_bridge.py",
            r'        # For VLMs, tie_word_embeddings lives on the top-level config, not text_config\.\n(.*?)getattr\(hf_config, "tie_word_embeddings", False\)',
            r'\1getattr(text_config, "tie_word_embeddings", False)',
            regex=True,
        ),
    ),
    (
        "MBR035",
        "loose nn.Module file in llama/",
        lambda t: t.append(
            f"{B}/models/llama/llama_layers.py",
            "import torch\n\n\nclass LlamaFancyAttention(torch.nn.Module):\n    pass\n",
        ),
    ),
    ("MBR035", "modelling_ spelling", lambda t: t.append(f"{B}/models/llama/modelling_llama4.py", "x = 1\n")),
    (
        "MBR036",
        "hand-written FP8 dequantization",
        lambda t: t.append(
            LL,
            "\n\ndef _dequant_fp8(weight, weight_scale_inv):\n    return weight.float() * weight_scale_inv\n",
        ),
    ),
    (
        "MBR040",
        "recipe function not exported",
        lambda t: t.append(
            f"{B}/recipes/llama/h100/llama3.py", "\n\ndef llama3_999b_pretrain_config():\n    return None\n"
        ),
    ),
    (
        "MBR041",
        "olmoe not wildcard-imported",
        lambda t: t.replace(f"{B}/recipes/__init__.py", "from megatron.bridge.recipes.olmoe import *\n", ""),
    ),
    ("MBR050", "olmoe unit tests removed", lambda t: t.remove("tests/unit_tests/models/olmoe")),
    (
        "MBR051",
        "llama tests lose __init__.py",
        lambda t: t.remove("tests/unit_tests/models/llama/__init__.py"),
    ),
    ("MBR052", "olmoe docs removed", lambda t: t.remove("docs/models/olmoe")),
    (
        "MBR053",
        "docs link to a missing file",
        lambda t: t.append(
            "docs/models/llama/llama3.md",
            "\nSee [the old bridge](../../../src/megatron/bridge/models/llama/old_bridge.py).\n",
        ),
    ),
    (
        "MBR900",
        "stale noqa on a clean line",
        lambda t: t.replace(LL, 'model_type="llama")\n', 'model_type="llama")  # noqa: MBR010\n'),
    ),
]


def lint(root: Path, env: dict[str, str]) -> set[tuple[str, str, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "analyzers", "lint", "--select", "ALL", "--exit-zero", "--format", "json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "lint failed")
    import json

    return {(f["code"], f["filename"], f["message"]) for f in json.loads(proc.stdout)["findings"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default="/tmp/mbfull")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(args.repo, work, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", ".git"))
        env = {**os.environ, "BRIDGESMITH_CACHE": str(Path(tmp) / "cache"), "PYTHONPATH": str(PROJECT)}
        original = lint(Path(args.repo), {**env, "BRIDGESMITH_CACHE": str(Path(tmp) / "cache-orig")})
        baseline = lint(work, env)
        print(f"clean copy: {len(baseline)} findings; new vs the original tree: {len(baseline - original)}")
        tree = Tree(work)
        caught: dict[str, list[bool]] = defaultdict(list)
        for code, what, mutate in MUTATIONS:
            try:
                mutate(tree)
                found = lint(work, env) - baseline
            finally:
                tree.revert()
            hit = any(c == code for c, _, _ in found)
            other = sorted({c for c, _, _ in found if c != code})
            caught[code].append(hit)
            print(
                f"{'CAUGHT' if hit else 'MISSED'} {code} {what}"
                + (f"  (also: {', '.join(other)})" if other else "")
            )
        print("\nrecall per rule:")
        total = sum(len(v) for v in caught.values())
        hits = sum(sum(v) for v in caught.values())
        for code in sorted(caught):
            print(f"  {code}: {sum(caught[code])}/{len(caught[code])}")
        print(f"overall: {hits}/{total} mutations caught, {len(caught)} rules")
        after = lint(work, env)
        print(f"after reverting everything: {len(after ^ baseline)} differences from the clean copy")
        for item in sorted(after ^ baseline):
            print(f"  {'+' if item in after else '-'} {item[0]} {item[1]}: {item[2]}")
    return 0 if hits == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
