#!/usr/bin/env bash
{{license_header}}
set -euo pipefail

WORKSPACE=${WORKSPACE:-/workspace}
HF_MODEL={{hf_id_shell}}

# Import HF -> Megatron
./scripts/conversion/convert.sh import \
    --hf-model ${HF_MODEL} \
    --megatron-path ${WORKSPACE}/models/{{stem}}

# Export Megatron -> HF
./scripts/conversion/convert.sh export \
    --hf-model ${HF_MODEL} \
    --megatron-path ${WORKSPACE}/models/{{stem}}/iter_0000000 \
    --hf-path ${WORKSPACE}/models/{{stem}}-hf-export

# Round-trip check
uv run python examples/conversion/hf_megatron_roundtrip_multi_gpu.py --hf-model-id ${HF_MODEL}
