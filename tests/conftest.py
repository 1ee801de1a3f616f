"""Shared fixtures: the pinned real tree (downloaded once, cached per user) and checkout-shaped copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyzers.realtree import ensure_tree

PROJECT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT / "fixtures"
#: tests/, docs/, examples/, scripts/ written by us in Megatron-Bridge's shape (the wheel has none of them)
CHECKOUT_OVERLAY = FIXTURES / "checkout"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files the run checks (fixtures/<codemod>/<case>/plan.diff) from its output",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether this run rewrites golden files (`--update-golden`) instead of checking them."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def real_tree() -> Path:
    """The pinned megatron-bridge wheel tree (src/ only). Fails loudly when it cannot be obtained."""
    return ensure_tree()


@pytest.fixture(scope="session")
def real_catalog(real_tree: Path):
    from analyzers.catalog import build_catalog

    return build_catalog(real_tree)


def make_checkout(real_tree: Path, dest: Path) -> Path:
    """A writable checkout-shaped tree: the real src/ plus our overlay of tests/docs/examples/scripts."""
    shutil.copytree(real_tree / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__"))
    if CHECKOUT_OVERLAY.is_dir():
        shutil.copytree(CHECKOUT_OVERLAY, dest, dirs_exist_ok=True)
    return dest


@pytest.fixture(scope="session")
def checkout(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention checkout-shaped tree shared by the session (do not write to it)."""
    return make_checkout(real_tree, tmp_path_factory.mktemp("checkout"))


@pytest.fixture
def writable_checkout(real_tree: Path, tmp_path: Path) -> Path:
    """A fresh checkout-shaped tree per test, for codemods that write."""
    return make_checkout(real_tree, tmp_path / "tree")
