"""``python -m centralino`` is the ``centralino`` command."""

import sys

from .cli import main

sys.exit(main())
