"""Single-rank CPU smoke runs forked from one warm process instead of each importing the stack again.

Importing torch, transformers, Megatron-Core and Megatron-Bridge takes most of a toy run's CPU time
(about 8 of 12 s for a Qwen3 toy). A forkserver imports them once, with the same Transformer Engine
set-up a run does (`import_megatron`), and forks a fresh child per case: each case still gets its
own process (Megatron's global state, the CPU redirection and a crash stay in it), but not its own
imports. Runs that load Megatron-Bridge from another tree, need several ranks or a GPU keep the
plain subprocess (`_runner.run_smoke_subprocess`). As with any multiprocessing child, a script run
as `__main__` is imported again by each case (under `__mp_main__`): entry points are `python -m`
modules, and scripts keep their work under `if __name__ == "__main__":`.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["forked_run"]

#: what the forkserver imports before it forks: the imports each run makes, in a run's order
_PRELOAD = "codemods.smoke._warm_imports"
#: the environment variable naming the file the preload's imports print to
IMPORTS_LOG_VARIABLE = "BRIDGESMITH_SMOKE_IMPORTS_LOG"
_LOCK = threading.Lock()
_CONTEXT: Any = None
_IMPORTS_LOG: str | None = None


def _context() -> Any:
    """The forkserver context, its server started with the preload's output going to `_IMPORTS_LOG`."""
    global _CONTEXT, _IMPORTS_LOG
    with _LOCK:
        if _CONTEXT is None:
            from multiprocessing import forkserver

            fd, _IMPORTS_LOG = tempfile.mkstemp(prefix="bridgesmith-smoke-imports-", suffix=".log")
            os.close(fd)
            atexit.register(Path(_IMPORTS_LOG).unlink, missing_ok=True)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([_PRELOAD])
            # the server inherits this process's environment once, when it starts
            os.environ[IMPORTS_LOG_VARIABLE] = _IMPORTS_LOG
            try:
                forkserver.ensure_running()
            finally:
                del os.environ[IMPORTS_LOG_VARIABLE]
            _CONTEXT = context
        return _CONTEXT


def _child(
    target: Callable[..., int], args: tuple[Any, ...], env: dict[str, str], log_path: str, imports_log: str
) -> None:
    """`target(*args)` in a fork of the warm process, with the case's environment; everything it prints
    goes to the case's log, after what the imports printed (as in a run that imports on its own)."""
    os.environ.clear()
    os.environ.update(env)
    with open(log_path, "w") as log:  # noqa: PTH123 - a file descriptor for dup2
        log.write(Path(imports_log).read_text(errors="replace"))
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    code = target(*args)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)  # through multiprocessing's exit: its finalizers run


def forked_run(
    target: Callable[..., int], args: tuple[Any, ...], env: dict[str, str], log: Path, timeout: float | None
) -> int | str:
    """`target(*args)` (a module-level function: it is pickled by name) in a fork of the warm process;
    its exit code, or why it was stopped."""
    context = _context()
    process = context.Process(target=_child, args=(target, args, env, str(log), _IMPORTS_LOG), daemon=True)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return f"killed after {timeout:g} s"
    return process.exitcode if process.exitcode is not None else "no exit code"
