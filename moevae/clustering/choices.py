"""Choices the command line checks before it imports torch: the start
partitions' embeddings and the most images ``moevae sample`` draws per
expert."""
METHODS = ("umap", "tsne")
MAX_COUNT = 10_000
