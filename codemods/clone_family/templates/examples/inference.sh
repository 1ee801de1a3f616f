#!/usr/bin/env bash
{{license_header}}
set -euo pipefail

HF_MODEL={{hf_id_shell}}

uv run python examples/conversion/{{generate_script}} \
    --hf_model_path ${HF_MODEL}{{image_arg}} \
    --prompt "Hello"
