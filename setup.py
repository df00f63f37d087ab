import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join(HERE, 'tcformer_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read a requirements file, skipping comments and pip options."""
    reqs = []
    with open(osp.join(HERE, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Make configs/ and tools/ reachable as ``tcformer_mm/.mim`` for OpenMMLab's mim.

    Editable installs (``develop`` and pip's ``editable_wheel``) get symlinks, so edits show
    through; wheels and sdists get copies.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'tcformer_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ['configs', 'tools', 'model-index.yml']:
        src = osp.join(HERE, name)
        tar = osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), tar)
                continue
            except OSError:
                warnings.warn(f'cannot symlink {src}; copying it instead')
        if osp.isfile(src):
            shutil.copyfile(src, tar)
        else:
            shutil.copytree(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    codebases = parse_requirements('codebases.txt')
    setup(
        name='tcformer_mm',
        version=get_version(),
        description='TCFormer and TCFormerV2 (Token Clustering Transformer) for OpenMMLab 2.0',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, vision transformer, token clustering, TCFormer',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
        include_package_data=True,
        package_data={'tcformer_mm': ['.mim/**/*', '.mim/*']},
        python_requires='>=3.8',
        license='Apache License 2.0',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=parse_requirements('runtime.txt'),
        extras_require={
            'mim': parse_requirements('mminstall.txt'),
            'tests': parse_requirements('tests.txt'),
            # mmpose itself goes in with --no-deps (see README); these are its other needs.
            'all': codebases + parse_requirements('tests.txt'),
        },
        zip_safe=False)
