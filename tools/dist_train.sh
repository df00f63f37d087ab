#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args]
# Environment: NNODES, NODE_RANK, PORT, MASTER_ADDR, PYTHON. Without CUDA the processes use gloo.

USAGE="tools/dist_train.sh CONFIG GPUS [train.py args]"
source "$(dirname "$0")/_launch_common.sh"
check_file CONFIG "$1"
check_gpus "$2"
dist_run $2 train.py $1 --launcher pytorch ${@:3}
