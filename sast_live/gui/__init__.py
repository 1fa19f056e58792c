"""The Qt desktop app (PyQt6 + pyqtgraph). The only package that imports Qt; ``main.py`` imports it lazily."""
