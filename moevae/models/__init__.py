"""Models: the seed's per-expert MoE VAE and its fused equivalent."""
from .experts import VAE, Decoder, Encoder, Manager, build_manager
from .fused import FusedManager, fuse_state_dict, split_state_dict

__all__ = [
           "VAE",
           "Decoder",
           "Encoder",
           "FusedManager",
           "Manager",
           "build_manager",
           "fuse_state_dict",
           "split_state_dict",
]
