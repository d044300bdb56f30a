"""What the command line shows about data before it imports numpy: the
MNIST folder's default and the image files ``moevae predict`` reads."""
from pathlib import Path

DEFAULT_DATA_DIR = Path.home() / ".cache" / "moevae" / "mnist"
KINDS = "an .npy array, an IDX file (gzip or raw) or a folder of PNG images"
