#!/usr/bin/env bash
# The one-shot GPU report (tools/analysis_tools/gpu_report.py) on a machine that may have only
# torch and timm installed and no network.
#
#   bash tools/analysis_tools/gpu_report.sh [OUT] [gpu_report.py options]
#   bash tools/analysis_tools/gpu_report.sh --fetch-wheels [DIR]
#
# OUT (--out) is the report file or a folder to write gpu_report.txt in: on a lent machine that
# returns only a folder's files, that folder, e.g. "$OUT" --budget 480 for a 600 s command.
#
# The report needs mmengine and mmcv (its Python part; mmcv-lite is enough) besides torch and
# timm. Where they do not import, the wheels in $TCFORMER_WHEELS (default .whl) are installed
# into a temporary folder first. --fetch-wheels downloads those wheels (for Python 3.12) into
# DIR on a machine with network access, to carry to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
WHEELS=${TCFORMER_WHEELS:-.whl}
REQUIREMENTS=(mmengine==0.10.7 mmcv-lite==2.1.0 addict==2.4.0 yapf==0.43.0 termcolor==3.3.0
              platformdirs==4.3.6)

if [ "${1:-}" = "--fetch-wheels" ]; then
    exec "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux2014_x86_64 -d "${2:-$WHEELS}" \
        "${REQUIREMENTS[@]}"
fi

if ! "$PY" -c 'import mmengine, mmcv.cnn' 2>/dev/null; then
    if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
        echo "gpu_report.sh: mmengine / mmcv do not import and $WHEELS holds no wheels;" \
             "fetch them with: bash tools/analysis_tools/gpu_report.sh --fetch-wheels" >&2
        exit 2
    fi
    site=$(mktemp -d)
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$WHEELS"/*.whl
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi

OUT=gpu_report.txt
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    OUT=$1
    shift
fi
exec "$PY" tools/analysis_tools/gpu_report.py --out "$OUT" "$@"
