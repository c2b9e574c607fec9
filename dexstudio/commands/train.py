"""``dexstudio train ...``: training commands.

Each ``dexstudio/commands/train_<name>.py`` defines ``register_train(train_subparsers)``
and is discovered here (``train basis``, ``train motion``, ``train animator``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil


def register(sub: argparse._SubParsersAction) -> None:
    import dexstudio.commands as pkg

    p = sub.add_parser("train", help="fit the expression basis or train the DeX models")
    train_sub = p.add_subparsers(dest="train", metavar="WHAT", required=True)
    for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if m.name.startswith("train_"):
            importlib.import_module(f"dexstudio.commands.{m.name}").register_train(train_sub)
