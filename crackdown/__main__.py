"""`python -m crackdown` runs the CLI."""

import sys

from crackdown.cli import main

sys.exit(main())
