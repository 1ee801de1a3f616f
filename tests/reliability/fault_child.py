"""Run a codemods command with the change set's file operations counted, and a fault at one of them.

    python -m tests.reliability.fault_child ACTION K [DELAY] -- codemods ARGS...

ACTION at the K-th file operation of the write phase (journal, folders, staged writes, renames,
unlinks): `pause` prints `FAULT-POINT K` on stdout and sleeps (the parent kills it), `SIGINT`,
`SIGTERM` or `SIGKILL` sends that signal to this process, `count` only prints the number of operations
at exit. DELAY (seconds) slows every operation. The operations are those of `analyzers.changes`; nothing
else is patched.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types

import analyzers.changes as changes
from codemods.cli import main

COUNTED = {"replace", "unlink", "mkdir", "write", "fsync", "fchmod", "rmdir"}


class _Faulty(types.ModuleType):
    """`os` for analyzers.changes, with a fault at operation K."""

    def __init__(self, action: str, k: int, delay: float) -> None:
        super().__init__("os")
        self.action, self.k, self.delay, self.count = action, k, delay, 0

    def __getattr__(self, name: str):
        real = getattr(os, name)
        if name not in COUNTED:
            return real

        def op(*args, **kwargs):
            self.count += 1
            if self.delay:
                time.sleep(self.delay)
            if self.count == self.k:
                if self.action == "pause":
                    print(f"FAULT-POINT {self.k}", flush=True)
                    time.sleep(600)
                elif self.action in ("SIGINT", "SIGTERM", "SIGKILL"):
                    os.kill(os.getpid(), getattr(signal, self.action))
                    time.sleep(0.5)  # the handler runs here (SIGKILL never returns)
            return real(*args, **kwargs)

        return op


def run(argv: list[str]) -> int:
    split = argv.index("--")
    action, k = argv[0], int(argv[1])
    delay = float(argv[2]) if split > 2 else 0.0
    faulty = _Faulty(action, k, delay)
    changes.os = faulty
    try:
        return main(argv[split + 1 :])
    finally:
        if action == "count":
            print(f"FILE-OPERATIONS {faulty.count}", flush=True)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
