"""Clustering research: the mixture of VAE experts as an unsupervised
clustering of digits.

Start partitions (:mod:`~moevae.clustering.partition`), recipes
(:mod:`~moevae.clustering.recipes`), clustering losses
(:mod:`~moevae.clustering.losses`), scores (:mod:`~moevae.clustering.scores`),
evaluation and generation, and the board monitor
(:mod:`~moevae.clustering.monitor`).
"""
