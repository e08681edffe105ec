"""The shared core: what both papers' code stands on and neither paper's code is part of.

The VOC classes, run setup and records, the training loop with exact resume, checkpoints, the
confusion matrix and scores, atomic writes, the command-line wrapper and the config check. It
imports neither ``tagseg.sun2018`` nor ``tagseg.luo2017`` nor ``tagseg.reporting``
(tests/test_layers.py).
"""
