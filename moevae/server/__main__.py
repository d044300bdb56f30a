"""python -m moevae.server: the board server (the Docker image's command)."""
import sys

from .command import main

sys.exit(main())
