"""Entry point of `python -m sds_core`."""

from sds_core.cli import exit_now, main

exit_now(main())
