"""``python -m netbuilder``: the same as the ``netbuilder`` command."""
import sys

from .cli import main

sys.exit(main())
