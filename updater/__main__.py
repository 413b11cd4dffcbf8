"""``python3 -I pishkhan-update …``: the zip's entry point (also ``python3 -m updater``)."""

import sys

from updater.cli import main

sys.exit(main())
