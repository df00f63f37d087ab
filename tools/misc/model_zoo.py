"""Print the model zoo tables of the README from ``model-index.yml`` and its metafiles.

Example::

    python tools/misc/model_zoo.py            # markdown, one table per metafile
    python tools/misc/model_zoo.py --check README.md

``--check`` fails when the README's zoo section (between the ``<!-- model-zoo -->`` markers)
differs from what the metafiles give, so the README cannot drift from them.
"""
import argparse
import os.path as osp
import re
import sys

import yaml

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'


def _gpus(config: str) -> int:
    """GPUs of the recipe, from OpenMMLab's ``8xb64`` naming; 8 when the name has none."""
    match = re.search(r'_(\d+)xb\d+', osp.basename(config))
    return int(match.group(1)) if match else 8


def _command(config: str) -> str:
    """The launcher command of a config: the ``*-test.py`` swaps evaluate a trained model."""
    if config.endswith('-test.py'):
        return f'bash tools/dist_test.sh {config} CHECKPOINT {_gpus(config)}'
    return f'bash tools/dist_train.sh {config} {_gpus(config)}'


def _metrics(model: dict) -> str:
    results = model.get('Results') or []
    return '<br>'.join(', '.join(f'{k} {v}' for k, v in r['Metrics'].items()) + f' ({r["Dataset"]})'
                       for r in results)


def zoo_markdown(root: str = ROOT) -> str:
    """The zoo tables: one per metafile, one row per model."""
    with open(osp.join(root, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f)['Import']
    parts = []
    for metafile in metafiles:
        with open(osp.join(root, metafile)) as f:
            meta = yaml.safe_load(f)
        folder = osp.dirname(metafile)
        parts.append(f'#### [{folder}]({folder}/README.md)\n')
        parts.append('| config | params (M) | GFLOPs (paper) | paper results | command |')
        parts.append('| --- | --- | --- | --- | --- |')
        for model in meta['Models']:
            config = model['Config']
            info = model.get('Metadata', {})
            params = info.get('Parameters')
            flops = info.get('FLOPs')
            parts.append(f'| [{model["Name"]}]({config}) '
                         f'| {f"{params / 1e6:.2f}" if params else "-"} '
                         f'| {f"{flops / 1e9:.1f}" if flops else "-"} '
                         f'| {_metrics(model)} '
                         f'| `{_command(config)}` |')
        parts.append('')
    return '\n'.join(parts).rstrip() + '\n'


def readme_zoo(readme: str) -> str:
    with open(readme) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise ValueError(f'{readme} has no {BEGIN} ... {END} section')
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip('\n') + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', metavar='README', help='compare with the README section')
    args = parser.parse_args(argv)
    tables = zoo_markdown()
    if not args.check:
        sys.stdout.write(tables)
        return 0
    if readme_zoo(args.check) != tables:
        print(
            f'{args.check}: the model zoo section differs from the metafiles; regenerate it '
            f'with `python tools/misc/model_zoo.py`',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
