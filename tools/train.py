"""Train a model of any of the four codebases (the config's ``default_scope`` decides).

Same flags as ``mmdet/tools/train.py``; run through ``tools/dist_train.sh`` or ``torchrun`` for
several processes (on a machine without CUDA they use gloo).
"""
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import tcformer_mm  # noqa: F401  registers our modules, fixes checkpoint loading
from tcformer_mm.utils import launch

# The repository root, so that a config's custom_imports can name `projects.<name>.<name>`
# (tools/dist_train.sh sets PYTHONPATH for the same reason).
launch.add_repo_root_to_path(__file__)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp',
                        action='store_true',
                        default=False,
                        help='enable automatic-mixed-precision training (fp16 with loss scaling on '
                        'GPU, bf16 autocast on CPU)')
    parser.add_argument('--auto-scale-lr',
                        action='store_true',
                        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not specify, try to auto '
        'resume from the latest checkpoint in the work directory.')
    launch.add_runner_args(
        parser,
        non_strict_help='let load_from take a checkpoint whose backbone or neck keys do not all '
        'fit the model (by default that is an error)')
    return launch.parse_runner_args(parser)


def main():
    args = parse_args()
    cfg = launch.runner_config(args)
    if args.amp:
        launch.enable_amp(cfg)
    if args.auto_scale_lr:
        launch.enable_auto_scale_lr(cfg)
    launch.set_resume(cfg, args.resume)
    if not args.non_strict and not cfg.get('resume'):
        launch.add_strict_load_hook(cfg)
    launch.check_data_roots(cfg, ['train', 'val'] if cfg.get('val_cfg') else ['train'])
    launch.setup_cpu_distributed(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    launch.teardown_distributed()


if __name__ == '__main__':
    launch.run_cli(main, 'tools/train.py')
