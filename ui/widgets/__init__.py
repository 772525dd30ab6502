"""Small widgets of the tabs: the channel editor, the bar chart, the manual-distribution dialog, and the
timers, centred labels and the shortening label the tabs and the window build (basics)."""
