#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON. Without CUDA the processes use gloo.

source "$(dirname "$0")/_launch_common.sh"
dist_run $3 test.py $1 $2 --launcher pytorch ${@:4}
