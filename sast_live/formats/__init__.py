"""Event file formats: readers that stream in chunks or time windows, and writers (DESIGN.md §4).

Use :func:`sast_live.formats.registry.open_events` to read any supported file and
:func:`sast_live.formats.registry.write_events` to write one.
"""
