"""The machinery behind :class:`moevae.interfaces.DeepLearningInterface`.

One batch: :mod:`~moevae.training.step`; one run (settings, resume,
folds): :mod:`~moevae.training.run`; one checkpoint:
:mod:`~moevae.training.checkpoint`; torchrun:
:mod:`~moevae.training.distributed`. Nothing here knows the interface:
each object takes its collaborators explicitly.
"""
