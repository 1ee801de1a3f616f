"""The imports a smoke run makes, in its order (the TE set-up before Megatron): the warm forkserver's preload.

Importing this module is the whole job, inside the forkserver `_warm` starts: the environment variable
`_warm.IMPORTS_LOG_VARIABLE` names the file what the imports print goes to (each case's log starts with it).
Anywhere else (a doctest collection, say) the import does nothing.
"""

import os

_LOG = os.environ.get("BRIDGESMITH_SMOKE_IMPORTS_LOG")

if _LOG:
    _fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND)
    os.dup2(_fd, 1)
    os.dup2(_fd, 2)
    os.close(_fd)
    # as a run's subprocess environment has it: the toys are small and the cases run side by side
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import torch  # noqa: F401
    import transformers  # noqa: F401

    from codemods.smoke import _runner  # noqa: F401
    from codemods.smoke._te_shim import import_megatron

    import_megatron()
