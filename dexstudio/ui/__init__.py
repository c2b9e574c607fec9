"""The PySide6 + pyqtgraph editor. The only package that imports Qt."""
