#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON. Without CUDA the processes use gloo.

USAGE="tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]"
source "$(dirname "$0")/_launch_common.sh"
check_file CONFIG "$1"
check_file CHECKPOINT "$2"
check_gpus "$3"
dist_run $3 test.py $1 $2 --launcher pytorch ${@:4}
