"""The imports a smoke run makes, in its order (the TE set-up before Megatron): the warm forkserver's preload.

Importing this module is the whole job; only `_warm`'s forkserver imports it.
"""

import os

# what the imports print goes to a file each case's log starts with (`_warm._child`), not the caller's terminal
_log = os.open(os.environ["BRIDGESMITH_SMOKE_IMPORTS_LOG"], os.O_WRONLY | os.O_APPEND)
os.dup2(_log, 1)
os.dup2(_log, 2)
os.close(_log)
# as a run's subprocess environment has it: the toys are small and the cases run side by side
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402, F401
import transformers  # noqa: E402, F401

from codemods.smoke import _runner  # noqa: E402, F401
from codemods.smoke._te_shim import import_megatron  # noqa: E402

import_megatron()
