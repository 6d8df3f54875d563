"""`python -m metafas.cli` (as torchrun launches training) runs the console script."""

import sys

from metafas.cli import main

sys.exit(main())
