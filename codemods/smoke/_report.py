"""Smoke-test checks and the report: JSON for machines, a short summary for people (no torch needed)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Check", "SmokeReport", "DEQUANT_HINT"]

#: Named in every failed dequantization check: where the fix goes and which helpers to use.
DEQUANT_HINT = (
    "override maybe_modify_loaded_hf_weight in the bridge to dequantize with the shared helpers in "
    "megatron/bridge/models/conversion/quantization_utils.py"
)


@dataclass
class Check:
    """One pass/fail check with its figures."""

    name: str  #: mapping, filled, export, logits, dequantization
    status: str  #: "pass", "fail", "skipped" or "info" (figures only, never a verdict)
    summary: str  #: one line with the numbers
    details: dict[str, Any] = field(default_factory=dict)  #: lists and per-tensor figures

    @property
    def passed(self) -> bool:
        return self.status != "fail"


@dataclass
class SmokeReport:
    """Everything one smoke run found."""

    model: str  #: as given on the command line
    model_type: str = ""
    architecture: str = ""
    bridge: str = ""  #: Megatron-Bridge class that handled the architecture
    quantize: str = "none"
    device: str = "cpu"
    tp: int = 1
    pp: int = 1
    ep: int = 1
    toy_config: dict[str, Any] = field(default_factory=dict)
    adjustments: list[str] = field(
        default_factory=list
    )  #: provider settings changed to run without TE / CUDA
    checks: list[Check] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    error: str | None = None  #: set when the run stopped before its checks (a crash counts as a failure)
    traceback: str | None = None  #: the last frames of that crash
    log: str | None = None  #: where the libraries' own output (warnings, prints) went

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmokeReport:
        data = dict(data)
        data.pop("passed", None)
        data["checks"] = [Check(**c) for c in data.get("checks", [])]
        return cls(**data)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    def summary(self) -> str:
        """The readable summary: one line per check, then the verdict."""
        head = (
            f"smoke {self.model} ({self.architecture or '?'} via {self.bridge or '?'}), quantize={self.quantize}, "
            f"device={self.device}, tp={self.tp}, pp={self.pp}" + (f", ep={self.ep}" if self.ep > 1 else "")
        )
        lines = [head]
        for check in self.checks:
            lines.append(f"  {check.status.upper():7} {check.name:15} {check.summary}")
        if self.error:
            lines.append(f"  ERROR   {self.error}")
        total = self.timings_s.get("total")
        verdict = "PASS" if self.passed else "FAIL"
        lines.append(f"{verdict}" + (f" in {total:.1f} s" if total is not None else ""))
        if self.log:
            lines.append(f"library output: {self.log}")
        return "\n".join(lines)
