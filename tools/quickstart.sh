#!/usr/bin/env bash
# The README quick start's main job (`make demo`): train the embedded tiny default config on the
# generated tiny data through tools/train.py, then evaluate its last checkpoint with tools/test.py.
#   CONFIG    config to run (default: the tiny default below)
#   WORK_DIR  default work_dirs/quickstart
#   PYTHON    interpreter (default: python)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
CONFIG=${CONFIG:-configs/tiny/tcformerv2-tiny_1xb16_tiny-cls.py}
WORK_DIR=${WORK_DIR:-work_dirs/quickstart}

# Start from scratch: a previous run's checkpoints would make this a no-op.
rm -rf "$WORK_DIR"
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
"$PYTHON" tools/test.py "$CONFIG" "$CHECKPOINT" --work-dir "$WORK_DIR"
echo "quickstart: trained and evaluated $CONFIG; checkpoint $CHECKPOINT"
