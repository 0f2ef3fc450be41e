"""``python -m pokupai_lib`` is the ``pokupai`` command."""

from pokupai_lib.cli import main

main()
