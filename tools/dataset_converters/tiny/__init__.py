"""The tiny synthetic data sets of ``make_tiny_datasets.py``, one module per set.

``classification`` (ImageNet layout), ``coco_detection`` (COCO instances), ``coco_person``
(COCO keypoints and COCO-WholeBody), ``ade20k`` and ``wflw`` each hold a set's drawing and its
``make_*(out_dir, rng, num_train, num_val)`` writer; ``drawing`` (backgrounds, colours, shapes),
``figures`` (stick figures of the person sets) and ``writers`` (image, JSON and COCO helpers)
are shared. ``make_tiny_datasets.py`` is the command line and seeds each set.
"""
