"""Models: the seed's per-expert MoE VAE and its fused equivalent.

Names: the *manager* is the whole mixture, as in the pynet example (its
``Manager`` gates VAE experts); its *gate* is the gating network, whose
softmax gives each expert's probability; the *DataManager*
(:mod:`moevae.datasets`) holds the data.
"""
from .experts import (
    VAE,
    Decoder,
    Encoder,
    Expert,
    Manager,
    build_manager,
    experts_of,
    latent_dim_of,
)
from .fused import FusedManager, fuse_state_dict, split_state_dict

__all__ = [
    "VAE",
    "Decoder",
    "Encoder",
    "Expert",
    "FusedManager",
    "Manager",
    "build_manager",
    "experts_of",
    "fuse_state_dict",
    "latent_dim_of",
    "split_state_dict",
]
