"""One rank of a multi-rank smoke run: `torchrun ... -m codemods.smoke OPTIONS_JSON REPORT_PATH`."""

import sys
from pathlib import Path

from codemods.smoke._runner import options_from_json, run_smoke

report = run_smoke(options_from_json(sys.argv[1]))
if int(__import__("os").environ.get("RANK", "0")) == 0:
    report.write(Path(sys.argv[2]))
sys.exit(0 if report.passed else 1)
