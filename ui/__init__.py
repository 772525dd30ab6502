"""The Qt desktop interface: the main window, one module per tab, models, dialogs.

This is the only package that imports Qt. It reaches the registry through the ``database``
and ``orchestration`` APIs, and never on the GUI thread (see ``ui/worker.py``).
"""

from ui import qt_fixes as _qt_fixes

_qt_fixes.apply()
