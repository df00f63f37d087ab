#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
# Environment: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON.

set -x
source "$(dirname "$0")/_launch_common.sh"
slurm_run $1 $2 train.py $3 --work-dir=$4 --launcher="slurm" ${@:5}
