"""Safetensors headers, read without the tensors: an 8-byte little-endian length, then that many bytes of JSON.

Reads are bounded: a header longer than `MAX_HEADER_BYTES` or than the file itself is refused before
anything past the first 8 bytes is read, and every tensor's byte range is checked against the file size.
Every failure is a one-line `ConfigError` naming the file.
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from analyzers.errors import ConfigError
from analyzers.json_limits import loads_bounded

#: Largest header we accept (real multi-GB shards have headers of a few MB at most).
MAX_HEADER_BYTES = 100 * 1024 * 1024

#: safetensors dtype codes -> torch dtype names, as `inspect` prints them.
DTYPE_NAMES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "U32": "uint32",
    "I32": "int32",
    "U64": "uint64",
    "I64": "int64",
    "F16": "float16",
    "BF16": "bfloat16",
    "F32": "float32",
    "F64": "float64",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E8M0": "float8_e8m0fnu",
    "F4": "float4_e2m1fn_x2",
    "C64": "complex64",
}

#: bits per element of each safetensors dtype code (F4 packs two values in a byte)
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8,
    "U16": 16, "I16": 16, "F16": 16, "BF16": 16,
    "U32": 32, "I32": 32, "F32": 32,
    "U64": 64, "I64": 64, "F64": 64, "C64": 64, "F4": 4,
}  # fmt: skip

#: dtypes that only appear in quantized checkpoints (raw codes, packed nibbles or scales).
QUANTIZED_DTYPES = frozenset(
    {"float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "float4_e2m1fn_x2", "uint8", "int8"}
)

#: Suffixes of the companion tensors that quantized checkpoints store beside their weights.
SCALE_SUFFIXES = ("_scale_inv", "_scale", "_blocks", "_scales")
_SCALE_RE = re.compile(r"(_scale_inv|_scales|_scale|_blocks)$")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str  #: torch dtype name (``float8_e4m3fn``), or the raw code when unknown
    shape: tuple[int, ...]


@dataclass
class SafetensorsHeader:
    """The parsed header of one `.safetensors` file."""

    path: str
    tensors: list[TensorInfo]
    metadata: dict[str, str] = field(default_factory=dict)  #: the optional ``__metadata__`` block


def read_header(path: str | Path) -> SafetensorsHeader:
    """Read one file's header (never its tensor data); raises ConfigError on anything malformed.

    >>> import torch; from safetensors.torch import save_file
    >>> save_file({"w": torch.zeros(4, 4, dtype=torch.float8_e4m3fn)}, scratch / "model-00001-of-00002.safetensors")
    >>> header = read_header(scratch / "model-00001-of-00002.safetensors")
    >>> header.tensors[0].dtype
    'float8_e4m3fn'
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise ConfigError(
                    f"not a safetensors file: {size} bytes, shorter than the 8-byte header length", path
                )
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES:
                raise ConfigError(f"header length {length} exceeds the {MAX_HEADER_BYTES}-byte limit", path)
            if 8 + length > size:
                raise ConfigError(
                    f"header length {length} runs past the end of the file ({size} bytes)", path
                )
            raw = handle.read(length)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    try:
        text = raw.decode("utf-8").rstrip(" ")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"header is not valid JSON: {exc}", path) from None
    header = loads_bounded(text, path, "header")
    if not isinstance(header, dict):
        raise ConfigError("header is not a JSON object", path)
    data_size = size - 8 - length
    metadata = header.pop("__metadata__", None) or {}
    tensors = []
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        tensors.append(_tensor(name, info, data_size, path))
        spans.append((*info["data_offsets"], name))
    spans.sort()
    for (_, end, before), (begin, _, after) in zip(spans, spans[1:], strict=False):
        if begin < end:
            raise ConfigError(f"tensors {before!r} and {after!r} overlap in the data section", path)
    return SafetensorsHeader(
        path=str(path), tensors=tensors, metadata=metadata if isinstance(metadata, dict) else {}
    )


def _tensor(name: str, info: object, data_size: int, path: Path) -> TensorInfo:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise ConfigError(f"tensor {name!r}: entry lacks dtype/shape/data_offsets", path)
    shape, offsets = info["shape"], info["data_offsets"]
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise ConfigError(f"tensor {name!r}: bad shape {shape!r}", path)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise ConfigError(f"tensor {name!r}: bad data_offsets {offsets!r}", path)
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise ConfigError(
            f"tensor {name!r}: data_offsets {offsets} outside the {data_size}-byte data section", path
        )
    code = str(info["dtype"])
    bits = DTYPE_BITS.get(code)
    if bits is not None:
        count = math.prod(shape)
        if (count * bits + 7) // 8 != end - begin:
            raise ConfigError(
                f"tensor {name!r}: shape {shape} of {code} needs {(count * bits + 7) // 8} bytes, "
                f"its data_offsets hold {end - begin}",
                path,
            )
    return TensorInfo(name=name, dtype=DTYPE_NAMES.get(code, code), shape=tuple(shape))


@dataclass
class QuantizationSummary:
    """What the headers of a checkpoint say about quantized storage."""

    files: int
    tensors: int
    dtypes: dict[str, int]  #: dtype name -> tensor count
    scale_keys: dict[str, int]  #: companion suffix (``_scale_inv``, ...) -> key count
    examples: dict[str, str]  #: companion suffix -> one example key

    @property
    def quantized(self) -> bool:
        return bool(self.scale_keys) or any(d in QUANTIZED_DTYPES for d in self.dtypes)


def summarize(headers: list[SafetensorsHeader]) -> QuantizationSummary:
    """Count dtypes and companion scale keys over the headers of a checkpoint's files."""
    dtypes: Counter[str] = Counter()
    scales: Counter[str] = Counter()
    examples: dict[str, str] = {}
    count = 0
    for header in headers:
        for tensor in header.tensors:
            count += 1
            dtypes[tensor.dtype] += 1
            base = tensor.name.removesuffix(".weight").removesuffix(".bias")
            if match := _SCALE_RE.search(base):
                scales[match.group(1)] += 1
                examples.setdefault(match.group(1), tensor.name)
    return QuantizationSummary(
        files=len(headers),
        tensors=count,
        dtypes=dict(sorted(dtypes.items())),
        scale_keys=dict(sorted(scales.items())),
        examples=examples,
    )


def find_safetensors(model_dir: str | Path) -> list[Path]:
    """The `.safetensors` files of a model directory, sorted (shards in order)."""
    return sorted(Path(model_dir).glob("*.safetensors"))
