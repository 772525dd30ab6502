"""The Qt desktop interface: the main window, one module per tab, models, dialogs.

This is the only package that imports Qt. It reaches the registry only through
``orchestration``, and never on the GUI thread.
"""
