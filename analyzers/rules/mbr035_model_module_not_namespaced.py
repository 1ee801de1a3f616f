"""MBR035: model code in a family folder outside a `modeling_<model>` module (or spelled `modelling_`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from analyzers.catalog.records import Location
from analyzers.lint.rule import Finding, Invalid, LintRule

_FAMILY = re.compile(
    r"^src/megatron/bridge/models/(?!conversion/|common/|decorators/|hf_pretrained/)([^/]+)/(.+)$"
)
#: last component of a base class that makes a class torch/Megatron model code
MODULE_BASES = re.compile(
    r"^(Module|MegatronModule|LanguageModule|VisionModule|TransformerLayer|TransformerBlock|MoELayer|MLP|"
    r"SelfAttention|Attention|MultiLatentAttention|MambaMixer|\w*(Attention|Layer|Block|Embedding|Norm|RMSNorm|Convolution))$"
)
_NOT_MODEL_FILES = re.compile(
    r"(^|/)(__init__|\w+_bridge|\w+_provider|configuration_\w+|processing_\w+)\.py$"
)


def _model_classes(tree: ast.Module) -> list[ast.ClassDef]:
    local: set[str] = set()
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            name = (
                base.attr
                if isinstance(base, ast.Attribute)
                else base.id
                if isinstance(base, ast.Name)
                else ""
            )
            if MODULE_BASES.match(name) or name in local:
                local.add(node.name)
                out.append(node)
                break
    return out


class ModelModuleNotNamespaced(LintRule):
    """Flags model code (torch/Megatron module classes) in a family folder outside `modeling_<model>`.

    ## What it does
    Two cases: a `modelling_<x>` module or package (British spelling), and a loose module in a
    family folder (not a bridge, provider, HF config copy or `modeling_` module) that defines
    `nn.Module`/`MegatronModule`/layer classes.

    ## Why is this bad?
    Megatron-Bridge keeps model-specific modeling code namespaced under `modeling_<model>` so that
    bridges, providers and model code are told apart by name, tools and reviewers find it, and two
    models of one family do not collide. A second spelling breaks every search for `modeling_`.

    ## Use instead
    `models/<family>/modeling_<model>.py` or `models/<family>/modeling_<model>/`.
    """

    CODE = "MBR035"
    NAME = "model-module-not-namespaced"
    MESSAGE = "{detail}"
    EXAMPLE_PATH = "src/megatron/bridge/models/foo/layers.py"
    FILES = r"^src/megatron/bridge/models/(?!conversion/|common/|decorators/|hf_pretrained/)[^/]+/.+\.py$"
    VALID = [
        {
            "src/megatron/bridge/models/foo/modeling_foo.py": "import torch\n\n\nclass FooAttention(torch.nn.Module):\n    pass\n"
        },
        {
            "src/megatron/bridge/models/foo/modeling_foo/layers.py": "class FooLayer(TransformerLayer):\n    pass\n"
        },
        "def helper(x):\n    return x\n\n\nclass FooConfig:\n    pass\n",
    ]
    INVALID = [
        Invalid("import torch\n\n\nclass FooAttention(torch.nn.Module):\n    pass\n", expected_lines=(4,)),
        Invalid(
            {
                "src/megatron/bridge/models/foo/modelling_foo/__init__.py": "",
                "src/megatron/bridge/models/foo/modelling_foo/model.py": "x = 1\n",
            },
            expected_message="modelling_foo",
        ),
    ]

    def check_file(self, path: str) -> Iterator[Finding]:
        match = _FAMILY.match(path)
        if match is None:
            return
        inner = match.group(2)
        parts = inner.split("/")
        spelled = next((i for i, p in enumerate(parts) if p.startswith("modelling_")), None)
        if spelled is not None:
            name = parts[spelled].removesuffix(".py")
            is_dir = spelled < len(parts) - 1
            if not is_dir or self._first_in_dir(path):
                kind = "package" if is_dir else "module"
                detail = f"model {kind} `{name}` is spelled `modelling_`; name it `modeling_{name[len('modelling_') :]}`"
                yield self.finding(Location(path, 1, 0), detail=detail)
            return
        if any(p.startswith("modeling_") for p in parts) or _NOT_MODEL_FILES.search(path):
            return
        module = self.ctx.module(path)
        if module is None:
            return
        classes = _model_classes(module.tree)
        if classes:
            first = classes[0]
            names = ", ".join(c.name for c in classes[:3]) + (", ..." if len(classes) > 3 else "")
            detail = f"model code ({names}) outside a `modeling_<model>` module of family `{match.group(1)}`"
            yield self.finding(Location(path, first.lineno, first.col_offset), detail=detail)

    def _first_in_dir(self, path: str) -> bool:
        """Report a misspelled package once: on its `__init__.py`, else on its first file."""
        folder = path.rsplit("/", 1)[0]
        if path.endswith("/__init__.py"):
            return True
        siblings = sorted(
            p for p in self.ctx.files.paths if p.rsplit("/", 1)[0] == folder and p.endswith(".py")
        )
        return f"{folder}/__init__.py" not in siblings and siblings[:1] == [path]
