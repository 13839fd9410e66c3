"""Entry point of `python -m sds_core`."""

import sys

from sds_core.cli import main

sys.exit(main())
