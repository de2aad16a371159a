"""Subcommands of the ``mintstore`` command line, one module per group.

Each module offers ``register(subparsers)``; the handler it installs gets the
parsed arguments and the environment (read once by ``mintstore.cli.main``).
"""
