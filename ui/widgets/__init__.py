"""Small widgets of the tabs: the channel editor, the bar chart, the manual-distribution dialog, and the
timers and centred labels every tab builds (basics)."""
