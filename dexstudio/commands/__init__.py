"""Command-line subcommands. Each module defines ``register(subparsers)``; ``dexstudio.cli``
collects them. Commands compose the lower layers and never import Qt."""
