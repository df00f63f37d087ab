#!/usr/bin/env bash
# Sourced by dist_train.sh, dist_test.sh, slurm_train.sh and slurm_test.sh: the two ways they
# start tools/train.py or tools/test.py, with the repository root on PYTHONPATH so that the
# processes import this checkout's tcformer_mm.

TOOLS_DIR=$(dirname "$0")
PROG=$(basename "$0")

# The interpreter: PYTHON if set, else the one tools/install.sh installs into (the active
# virtualenv or conda env, else this checkout's .venv, what `make demo` creates), else python3.
if [ -z "${PYTHON:-}" ]; then
    PYTHON=$(bash "$TOOLS_DIR/install.sh" --python)
    [ -x "$PYTHON" ] || PYTHON=$(command -v python3 || command -v python)
fi

# fail MESSAGE: one line on stderr, exit status 2 (as the Python tools).
fail() {
    echo "$PROG: error: $1" >&2
    exit 2
}

# check_file WHAT PATH: PATH names an existing file.
check_file() {
    [ -n "$2" ] || fail "$1 is missing; usage: $USAGE"
    [ -f "$2" ] || fail "$1 file not found: $2"
}

# check_gpus GPUS: a positive number of processes per node.
check_gpus() {
    [[ "$1" =~ ^[1-9][0-9]*$ ]] || fail "GPUS must be the number of processes on this node (a \
positive integer), got '${1}'; usage: $USAGE"
}

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
