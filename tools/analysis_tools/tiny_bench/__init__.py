"""The pieces of ``tools/analysis_tools/tiny_benchmark.py`` (the command line), one purpose each.

``tasks`` is the task table (config, metrics, schedule, lengths, stock model, constant
baseline); ``baselines`` the best constant predictions; ``configs`` writes the config of one
training run (data root, length, seed, stock swap); ``runs`` runs the trainings and the
evaluations in subprocesses; ``evaluation`` is what such an evaluation process runs (the
config's own evaluator) and ``wholebody`` adds the whole-body task's per-part APs (recorded
from mmpose's ``CocoWholeBodyMetric``) and token concentrations; ``report`` writes the markdown
table and the JSON.
"""
