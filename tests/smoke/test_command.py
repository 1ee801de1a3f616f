"""The `smoke` command without Megatron: help imports no torch, a missing env is a one-line error."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_help_imports_no_torch() -> None:
    code = (
        "import sys\nfrom codemods.cli import main\ntry:\n    main(['smoke', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'megatron' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"
    assert "--quantize {none,fp8-block,fp8-tensor,mxfp4}" in out.stdout


def test_report_summary_and_exit_rules() -> None:
    from codemods.smoke import Check, SmokeReport

    report = SmokeReport(
        model="qwen3",
        checks=[
            Check("export", "pass", "25/25 tensors bit-exact"),
            Check("logits", "skipped", "skipped (needs CUDA)"),
        ],
    )
    assert report.passed and report.summary().splitlines()[-1] == "PASS"
    report.checks.append(Check("dequantization", "fail", "8/8 params off"))
    assert not report.passed and "FAIL    dequantization" in report.summary()
    assert SmokeReport.from_dict(report.to_dict()) == report
    assert not SmokeReport(model="x").passed  # no checks ran: not a pass
