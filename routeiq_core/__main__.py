"""``python -m routeiq_core`` runs the ``routeiq`` command line."""

import sys

from .cli import main

sys.exit(main())
