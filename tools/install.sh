#!/usr/bin/env bash
# One-command install of tcformer_mm and the OpenMMLab 2.0 stack it plugs into.
#
#   bash tools/install.sh            install (idempotent: a second run takes seconds)
#   bash tools/install.sh --python   print the interpreter the install uses, install nothing
#
# Target environment: the active virtualenv ($VIRTUAL_ENV), else the active conda env
# ($CONDA_PREFIX), else ./.venv (created). Pins: requirements/constraints.txt.
# MMCV_CUDA=1 forces mmcv's CUDA ops to be built (they are built anyway when a GPU is visible).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ="$ROOT/requirements"

if [ -n "${VIRTUAL_ENV:-}" ]; then
    PREFIX="$VIRTUAL_ENV"
elif [ -n "${CONDA_PREFIX:-}" ]; then
    PREFIX="$CONDA_PREFIX"
else
    PREFIX="$ROOT/.venv"
fi
PY="$PREFIX/bin/python"

if [ "${1:-}" = "--python" ]; then
    echo "$PY"
    exit 0
elif [ -n "${1:-}" ]; then
    echo "usage: bash tools/install.sh [--python]" >&2
    exit 2
fi

STAMP="$PREFIX/.tcformer_mm-install"
stamp_value() {
    cat "$REQ"/*.txt "$ROOT/tools/install.sh" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
    echo "$ROOT"
}

step() { echo "[install $(date +%H:%M:%S)] $*"; }

if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] &&
    "$PY" - "$ROOT" <<'EOF' 2>/dev/null; then
import os, sys
import mmcv.ops, tcformer_mm  # noqa: F401
sys.exit(os.path.dirname(os.path.dirname(tcformer_mm.__file__)) != sys.argv[1])
EOF
    step "up to date in $PREFIX"
    exit 0
fi

if [ ! -x "$PY" ]; then
    [ "$PREFIX" = "$ROOT/.venv" ] || { echo "error: no python at $PY" >&2; exit 1; }
    BASE_PY=${PYTHON:-python3}
    "$BASE_PY" -c 'import sys; assert sys.version_info >= (3, 8), sys.version' || {
        echo "error: tcformer_mm needs Python >= 3.8 (set PYTHON=/path/to/python3.x)" >&2; exit 1; }
    step "creating $PREFIX with $("$BASE_PY" --version)"
    "$BASE_PY" -m venv "$PREFIX"
fi

PIP=("$PY" -m pip install --disable-pip-version-check -c "$REQ/constraints.txt")

step "build tools"
"${PIP[@]}" -q -r "$REQ/build.txt"

torchvision_ok() {
    "$PY" -c 'import torch, torchvision; torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)' \
        >/dev/null 2>&1
}
step "torch and torchvision"
"${PIP[@]}" -q -r "$REQ/torch.txt"
if ! torchvision_ok; then
    # A pip configuration may prefer a local CPU-only torch wheel (find-links) while torchvision
    # comes from the registry, built against the registry's torch: torchvision's C++ ops then
    # fail to load. Take both from the package index, ignoring the local find-links.
    step "torchvision does not load with $("$PY" -c 'import torch; print(torch.__version__)'):" \
        "reinstalling torch from the package index without find-links"
    "$PY" -m pip uninstall -q -y torch torchvision
    PIP_FIND_LINKS="" PIP_CONFIG_FILE=/dev/null "${PIP[@]}" -q -r "$REQ/torch.txt"
    torchvision_ok || {
        echo "error: torchvision still fails to import with this torch; see the README" >&2
        exit 1; }
fi

if ! "$PY" -c 'import mmcv, mmcv.ops; assert mmcv.__version__ == "2.1.0"' >/dev/null 2>&1; then
    # No mmcv 2.1.0 wheel exists for torch 2.13: build it (with ops) against the installed torch.
    # pip caches the built wheel, so this is slow only the first time on a machine.
    step "mmcv 2.1.0 with ops (built from source the first time: about 10 minutes on 2 cores)"
    if [ "${MMCV_CUDA:-0}" = "1" ]; then export FORCE_CUDA=1; fi
    # torch's BuildExtension compiles in parallel only when it finds `ninja` on PATH.
    PATH="$PREFIX/bin:$PATH" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" -q --no-build-isolation mmcv==2.1.0
fi

step "mmengine, mmdet, mmsegmentation, mmpretrain, mmpose"
"${PIP[@]}" -q mmengine -r "$REQ/codebases.txt" -r "$REQ/tests.txt"
"${PIP[@]}" -q --no-deps mmpose==1.3.2

step "tcformer_mm (editable)"
"${PIP[@]}" -q --no-deps --no-build-isolation -e "$ROOT"
# mim finds a package's configs and tools in <site-packages>/tcformer_mm/.mim, but an editable
# install leaves only an import hook there: link the package directory itself (imports then
# resolve to the same source files), unless a regular install already put one there.
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -e "$SITE/tcformer_mm" ] || [ -L "$SITE/tcformer_mm" ]; then
    ln -sfn "$ROOT/tcformer_mm" "$SITE/tcformer_mm"
fi

"$PY" - <<'EOF'
import mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, mmpose.models  # noqa: F401
import tcformer_mm  # noqa: F401
EOF
stamp_value > "$STAMP"
step "done: $PY"
