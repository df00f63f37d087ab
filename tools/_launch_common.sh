#!/usr/bin/env bash
# Sourced by dist_train.sh, dist_test.sh, slurm_train.sh and slurm_test.sh: the two ways they
# start tools/train.py or tools/test.py, with the repository root on PYTHONPATH so that the
# processes import this checkout's tcformer_mm. PYTHON picks the interpreter.

PYTHON=${PYTHON:-python}
TOOLS_DIR=$(dirname "$0")

# dist_run GPUS SCRIPT ARGS...: GPUS processes on this node through torch.distributed.run, the
# rendezvous from NNODES, NODE_RANK, MASTER_ADDR and PORT. Without CUDA the processes use gloo.
dist_run() {
    local gpus=$1 script=$2
    shift 2
    PYTHONPATH="$TOOLS_DIR/..":$PYTHONPATH \
    $PYTHON -m torch.distributed.run \
        --nnodes=${NNODES:-1} \
        --node_rank=${NODE_RANK:-0} \
        --master_addr=${MASTER_ADDR:-"127.0.0.1"} \
        --nproc_per_node=$gpus \
        --master_port=${PORT:-29500} \
        $TOOLS_DIR/$script $@
}

# slurm_run PARTITION JOB_NAME SCRIPT ARGS...: a Slurm job of GPUS tasks (default 8), GPUS_PER_NODE
# per node (default 8) with CPUS_PER_TASK CPUs each (default 5); SRUN_ARGS go to srun as well.
slurm_run() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    PYTHONPATH="$TOOLS_DIR/..":$PYTHONPATH \
    srun -p $partition \
        --job-name=$job_name \
        --gres=gpu:${GPUS_PER_NODE:-8} \
        --ntasks=${GPUS:-8} \
        --ntasks-per-node=${GPUS_PER_NODE:-8} \
        --cpus-per-task=${CPUS_PER_TASK:-5} \
        --kill-on-bad-exit=1 \
        $SRUN_ARGS \
        $PYTHON -u $TOOLS_DIR/$script $@
}
