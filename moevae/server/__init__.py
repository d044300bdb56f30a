"""The offline Visdom server (no torch import: it runs in a slim image)."""
