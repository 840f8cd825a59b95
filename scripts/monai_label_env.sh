#!/usr/bin/env bash
# Create the MONAI Label 0.8.5 environment that serves and trains the cmb_lr_mri_segmentation bundle.
#
#   scripts/monai_label_env.sh [--check] [VENV]     (default VENV: .venv-monailabel at the repository root)
#
# --check only says whether VENV is ready with this recipe (exit 0) or must be made (exit 1).
#
# MONAI Label gets a virtual environment of its own: it pins an older DICOM stack than the project's, and its
# torchvision must match its torch. PyPI's torchvision wheels for Linux x86_64 link against the CUDA libraries of
# torch, so beside the CPU build of torch 2.13.0 they fail to import ("operator torchvision::nms does not exist");
# the pair installed here is the CUDA build of torch 2.14.1 with torchvision 0.29.1, which runs on the CPU too
# (about 5.5 GB). Set ML_TORCH to install another pair, e.g. the CPU builds of PyTorch's own index:
#   ML_TORCH="torch==2.13.0 torchvision==0.28.0" ML_TORCH_INDEX=https://download.pytorch.org/whl/cpu
# The script is idempotent: a finished environment whose stamp file records the same recipe (the pins here, the
# requirements and constraints files) is left as it is; another recipe makes it anew.
set -euo pipefail

CHECK=0
if [[ "${1:-}" == "--check" ]]; then
    CHECK=1
    shift
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-monailabel}"
PYTHON="${PYTHON:-python3}"
ML_TORCH="${ML_TORCH:-torch==2.14.1 torchvision==0.29.1}"
ML_TORCH_INDEX="${ML_TORCH_INDEX:-}"
ML_NO_DEPS="monailabel==0.8.5 pydicom-seg==0.4.1"
REQUIREMENTS="$ROOT/scripts/monai_label_requirements.txt"
CONSTRAINTS="$ROOT/scripts/monai_label_constraints.txt"
STAMP="$VENV/.monai-label-installed"
RECIPE="$ML_TORCH $ML_TORCH_INDEX | $ML_NO_DEPS | $(cat "$REQUIREMENTS" "$CONSTRAINTS" | sha256sum | cut -c1-16)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$RECIPE" ]]; then
    echo "MONAI Label environment up to date: $VENV"
    exit 0
elif [[ "$CHECK" == 1 ]]; then
    echo "MONAI Label environment missing or made by another recipe: $VENV"
    exit 1
fi

rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet)
"${PIP[@]}" --upgrade pip
# shellcheck disable=SC2086  # ML_TORCH holds several requirement specifiers
if [[ -n "$ML_TORCH_INDEX" ]]; then
    "${PIP[@]}" --index-url "$ML_TORCH_INDEX" $ML_TORCH
else
    "${PIP[@]}" $ML_TORCH
fi
# shellcheck disable=SC2086
"${PIP[@]}" --no-deps $ML_NO_DEPS
# one resolution for MONAI Label's needs and the project (editable), at the versions tested with it: torch is
# already there, so none comes in
"${PIP[@]}" -r "$REQUIREMENTS" -c "$CONSTRAINTS" -e "$ROOT"
"$VENV/bin/python" -c "import torch, torchvision, monai, monailabel, cmb_kd; from monailabel.transform.post import Restored"
echo "$RECIPE" > "$STAMP"
echo "MONAI Label environment ready: $VENV"
