"""`python -m raftviz` runs the command line."""

import sys

from raftviz.cli import main

sys.exit(main())
