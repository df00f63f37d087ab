"""Peak memory of one training step of a whole detector or segmentor, next to a reference.

Examples::

    python tools/analysis_tools/train_memory.py \\
        configs/segmentation/tcformer/<config>.py --shape 512 512 --batch 2
    python tools/analysis_tools/train_memory.py \\
        configs/detection/tcformer/mask-rcnn_tcformerv2-s_mta_1x_coco.py --shape 800 1333 \\
        --cfg-options model.backbone.num_parts=[1,1,1]

The config's model (``default_scope`` mmdet or mmseg) is built without pre-trained weights and
trained for two steps on a synthetic batch of ``--batch`` images of ``--shape`` with ground
truth (a random label map for segmentors; a few boxes, labels and, for mask heads, masks for
detectors) that goes through the model's own data preprocessor (padding included). A step is
loss + backward + an optimizer step with the config's optimizer, so the first step allocates the
optimizer state.

The reference (``--reference``, default ``pvtv2-b2``) is the same config with the backbone
replaced by mmdet's ``PyramidVisionTransformerV2`` B2 and an MTA neck replaced by the FPN of the
config's codebase with the same inputs and outputs (``tcformer_mm.utils.stock``); or another
config file; or ``none``.

Each model is measured in a fresh subprocess (``ru_maxrss`` only grows, so one model's peak
would hide the other's). Printed per model: the process's peak resident memory after the
second step (weights, optimizer state, interpreter included) and the step's extra peak, the peak
minus the resident memory just before the second step; then the ratios. With ``--device cuda``
both figures are the device's (``torch.cuda.max_memory_allocated`` during the second step, and
that peak minus what was allocated before it).
"""
import argparse
import json
import os

import torch


def parse_args(argv=None):
    from tcformer_mm.utils.launch import add_cfg_options_argument, add_size_argument
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmdet or mmseg config file')
    add_size_argument(parser, default=[512, 512], help='input image size before padding')
    parser.add_argument('--batch', type=int, default=1, help='images per step')
    parser.add_argument('--reference',
                        default='pvtv2-b2',
                        help="'pvtv2-b2' (backbone swap), a config file, or 'none'")
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default cpu)')
    add_cfg_options_argument(parser,
                             default={},
                             help='override settings of the config (and of its pvtv2-b2 swap)')
    parser.add_argument('--probe', choices=['model', 'reference'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_config(path: str, options: dict):
    from tcformer_mm.utils.launch import add_repo_root_to_path
    from tcformer_mm.utils.launch import load_config as load
    add_repo_root_to_path(__file__)  # for configs that import projects.<name>.<name>
    cfg = load(path, options)
    if cfg.default_scope not in ('mmdet', 'mmseg'):
        raise ValueError(f'{path}: default_scope is {cfg.default_scope!r}; this tool trains '
                         'mmdet and mmseg models')
    return cfg


def synthetic_batch(cfg, model, batch: int, shape):
    """Images and ground truth of the model's codebase, before the data preprocessor."""
    from mmengine.structures import InstanceData, PixelData
    generator = torch.Generator().manual_seed(0)
    h, w = shape
    inputs = [
        torch.randint(0, 256, (3, h, w), generator=generator, dtype=torch.uint8)
        for _ in range(batch)
    ]
    meta = dict(img_shape=(h, w),
                ori_shape=(h, w),
                pad_shape=(h, w),
                scale_factor=(1., 1.),
                flip=False)
    samples = []
    if cfg.default_scope == 'mmseg':
        from mmseg.structures import SegDataSample
        num_classes = model.decode_head.num_classes
        for _ in range(batch):
            label = torch.randint(0, num_classes, (1, h, w), generator=generator)
            samples.append(SegDataSample(gt_sem_seg=PixelData(data=label), metainfo=meta))
    else:
        from mmdet.structures import DetDataSample
        from mmdet.structures.mask import BitmapMasks
        with_mask = getattr(model, 'with_mask', False)
        num_classes = _det_num_classes(model)
        for _ in range(batch):
            xy = torch.rand(5, 2, generator=generator) * torch.tensor([w * 0.6, h * 0.6])
            wh = (torch.rand(5, 2, generator=generator) * 0.35 + 0.05) * torch.tensor([w, h])
            boxes = torch.cat([xy, xy + wh], dim=1)
            gt = InstanceData(bboxes=boxes,
                              labels=torch.randint(0, num_classes, (5, ), generator=generator))
            if with_mask:
                masks = torch.zeros(5, h, w, dtype=torch.uint8)
                for i, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
                    masks[i, y1:y2, x1:x2] = 1
                gt.masks = BitmapMasks(masks.numpy(), h, w)
            samples.append(DetDataSample(gt_instances=gt, metainfo=meta))
    return dict(inputs=inputs, data_samples=samples)


def _det_num_classes(model) -> int:
    head = getattr(model, 'bbox_head', None)
    if head is None:
        head = model.roi_head.bbox_head
    return head.num_classes


def probe(args) -> None:
    """Subprocess entry: two training steps, print the memory of the second as JSON."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, init_default_scope

    from tcformer_mm.analysis.memory import peak_rss_kib, rss_kib
    from tcformer_mm.utils.stock import stock_counterpart
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if args.probe == 'reference' and args.reference != 'pvtv2-b2':
        cfg = load_config(args.reference, args.cfg_options)
    else:
        cfg = load_config(args.config, args.cfg_options)
        if args.probe == 'reference':
            cfg = stock_counterpart(cfg, 'b2')
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.pop('init_cfg', None)  # the architecture, not downloaded weights
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(args.device).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = synthetic_batch(cfg, model, args.batch, args.shape)

    def step():
        losses = model(**model.data_preprocessor(data, training=True), mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return loss.item()

    step()
    if device.type == 'cuda':
        # The device's peak: what the step allocates on top of weights and optimizer state.
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) // 1024
        loss = step()
        peak = torch.cuda.max_memory_allocated(device) // 1024
    else:
        before = rss_kib()
        loss = step()
        peak = peak_rss_kib()
    params = sum(p.numel() for p in model.parameters())
    print(
        json.dumps(
            dict(peak_mib=peak / 1024,
                 delta_mib=max(peak - before, 0) / 1024,
                 params_m=params / 1e6,
                 loss=loss)))


def measure(which: str, args) -> dict:
    from tcformer_mm.utils.rerun import run_probe
    probe_args = [
        args.config, '--probe', which, '--shape', *args.shape, '--batch', args.batch, '--reference',
        args.reference, '--threads', args.threads, '--device', args.device
    ]
    if args.cfg_options:
        probe_args += ['--cfg-options'] + [f'{k}={_option(v)}' for k, v in args.cfg_options.items()]
    return run_probe(__file__, probe_args, f'training step of the {which}')


def _option(value) -> str:
    """A --cfg-options value written back in DictAction's syntax (no spaces)."""
    return json.dumps(value, separators=(',', ':')) if isinstance(value, (list, tuple)) \
        else str(value)


def main(argv=None):
    args = parse_args(argv)
    if args.probe:
        probe(args)
        return
    load_config(args.config, args.cfg_options)  # fail early, in this process, on a bad config
    rows = [(os.path.basename(args.config), measure('model', args))]
    if args.reference != 'none':
        name = 'PVTv2-B2 swap' if args.reference == 'pvtv2-b2' else args.reference
        rows.append((name, measure('reference', args)))
    h, w = args.shape
    print(f'training step (loss + backward + optimizer step), batch {args.batch} of {h}x{w}, '
          f'fp32, {args.threads} threads')
    print(f'{"model":<52}{"params (M)":>11}{"peak RSS (MiB)":>16}{"step extra (MiB)":>18}')
    for name, m in rows:
        print(f'{name:<52}{m["params_m"]:>11.2f}{m["peak_mib"]:>16.0f}{m["delta_mib"]:>18.0f}')
    if len(rows) == 2:
        (_, a), (_, b) = rows
        print(f'ratio to the reference: peak RSS {a["peak_mib"] / b["peak_mib"]:.2f}x, '
              f'step extra {a["delta_mib"] / max(b["delta_mib"], 1e-6):.2f}x')


if __name__ == '__main__':
    main()
