#!/usr/bin/env bash
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]
# Environment: GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS, PYTHON.

set -x
source "$(dirname "$0")/_launch_common.sh"
slurm_run $1 $2 test.py $3 $4 --launcher="slurm" ${@:5}
