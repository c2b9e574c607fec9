"""DeX Studio: a desktop editor for portrait performances.

Layers (checked by import-linter, see pyproject.toml)::

    ui > commands > worker > render > motion > io > core

``core`` is Qt-, torch- and OpenCV-free; only ``ui`` imports Qt.
"""

__version__ = "0.1.0"
