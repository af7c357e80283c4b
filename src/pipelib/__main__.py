"""``python -m pipelib``: the same as the ``pipelib`` console script."""

import sys

from pipelib.cli import main

sys.exit(main())
