"""One module per tab of the main window (videos, channels, schedules, ...)."""
