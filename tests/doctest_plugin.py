"""The `>>>` examples of the packages as tests: `pytest -p tests.doctest_plugin --doctest-modules ...`.

The names the examples use, in `doctest_namespace` (besides their module's globals, `Path` and the entry points
`ensure_tree`, `build_catalog`, `load_spec`, `collect_hf_names`):
- `root`: the pinned real tree (`ensure_tree()`; fails loudly when it cannot be obtained, never skips);
- `catalog`: its catalog;
- `checkout`: a checkout-shaped copy of it in a temp dir, for examples that plan or make writes (the cached
  tree is never written);
- `scratch`: an empty temp dir for files an example creates.

Markers: `smoke` on every module of codemods/smoke (they import Megatron-Core or need it to run, so they are
collected in the smoke env only), `hf` on the modules whose examples need transformers and torch (skipped,
with the reason, where either is absent, as the `hf` tests need them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

PROJECT = Path(__file__).resolve().parents[1]
SMOKE_PACKAGE = PROJECT / "codemods" / "smoke"
#: modules whose examples read transformers' configs or modeling sources, or build torch tensors
HF_MODULES = frozenset(
    {
        "analyzers.coverage",
        "analyzers.expressibility",
        "analyzers.modeling_source",
        "analyzers.nearest",
        "analyzers.provider_vocabulary",
        "analyzers.qk_norm",
        "analyzers.safetensors_header",
        "analyzers.synthesize",
        "analyzers.transformers_source",
        "codemods.clone_family",
        "codemods.clone_family._embedding_scale",
        "codemods.clone_family._likely_causes",
        "codemods.clone_family._local_mappings",
        "codemods.clone_family._post_norm",
        "codemods.clone_family._registry_edits",
    }
)
HF_PACKAGES = ("transformers", "torch")


def _missing(packages: tuple[str, ...]) -> list[str]:
    return [name for name in packages if importlib.util.find_spec(name) is None]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing(HF_PACKAGES)
    for item in items:
        if not isinstance(item, DoctestItem):
            continue
        smoke = Path(item.path).is_relative_to(SMOKE_PACKAGE)
        if smoke:
            item.add_marker(pytest.mark.smoke)
        if smoke or item.dtest.globs.get("__name__") in HF_MODULES:
            item.add_marker(pytest.mark.hf)
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"hf example: {', '.join(missing)} not installed"))


@pytest.fixture(scope="session")
def _doctest_globals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from analyzers.catalog import build_catalog
    from analyzers.hf_config import load_spec
    from analyzers.hf_names import collect_hf_names
    from analyzers.realtree import ensure_tree
    from tests.conftest import make_checkout

    root = ensure_tree()
    return {
        "Path": Path,
        "ensure_tree": ensure_tree,
        "build_catalog": build_catalog,
        "load_spec": load_spec,
        "collect_hf_names": collect_hf_names,
        "root": root,
        "catalog": build_catalog(root),
        "checkout": make_checkout(root, tmp_path_factory.mktemp("doctest-checkout")),
        "scratch": tmp_path_factory.mktemp("doctest-scratch"),
    }


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest) -> None:
    """Fill the namespace for doctest items only (a normal test that loads the plugin builds nothing)."""
    if isinstance(request.node, DoctestItem):
        request.getfixturevalue("doctest_namespace").update(request.getfixturevalue("_doctest_globals"))
