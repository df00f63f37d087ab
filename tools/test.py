"""Test (and evaluate) a checkpoint with a config of any of the four codebases.

Same flags as ``mmdet/tools/test.py``.
"""
import argparse
import os.path as osp

from mmengine.config import ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import tcformer_mm  # noqa: F401  registers our modules, fixes checkpoint loading
from tcformer_mm.utils import launch

# The repository root, so that a config's custom_imports can name `projects.<name>.<name>`
# (tools/dist_train.sh sets PYTHONPATH for the same reason).
launch.add_repo_root_to_path(__file__)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    launch.add_runner_args(
        parser,
        non_strict_help='load a checkpoint whose backbone or neck keys do not all fit the '
        'model (by default that is an error)')
    parser.add_argument('--work-dir',
                        help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out',
                        type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved, with the codebase\'s own '
        'meaning of a relative path (mmdet: under work_dir/timestamp; mmseg: the '
        'visualizer\'s save_dir; mmpretrain, mmpose: relative to the current directory)')
    parser.add_argument('--tta',
                        action='store_true',
                        help='use the config\'s test-time '
                        'augmentation (tta_model and tta_pipeline)')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    return launch.parse_runner_args(parser)


def main():
    args = parse_args()
    cfg = launch.runner_config(args)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    if not args.non_strict:
        launch.add_strict_load_hook(cfg)
    launch.check_data_roots(cfg, ['test'])
    if not any(h.get('type') == 'NonFiniteCheckHook' for h in cfg.get('custom_hooks', [])):
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='NonFiniteCheckHook')]
    if args.show or args.show_dir:
        launch.enable_visualization(cfg, args.show, args.show_dir, args.wait_time)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError(f'--tta needs tta_model and tta_pipeline in {args.config}')
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    launch.setup_cpu_distributed(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(launch.dump_results_metric(
            cfg.default_scope, args.out))
    runner.test()
    launch.teardown_distributed()
    non_finite = next(h for h in runner.hooks if type(h).__name__ == 'NonFiniteCheckHook')
    if non_finite.bad:
        raise ValueError(non_finite.report())


if __name__ == '__main__':
    launch.run_cli(main, 'tools/test.py')
