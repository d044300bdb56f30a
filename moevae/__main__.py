"""python -m moevae: the moevae command."""
import sys

from .cli import main

sys.exit(main())
