"""moevae: train a Mixture-of-Experts VAE while a live Visdom board shows it.

A modern re-implementation of the pynet workflow: replace ``pynet`` with
``moevae`` in a pynet script's imports and it runs.
"""
import logging

__version__ = "0.1.0"

logging.getLogger("moevae").addHandler(logging.NullHandler())
