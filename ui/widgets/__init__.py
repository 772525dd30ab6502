"""Small widgets of the Channels and Distribution tabs (editor, chart, manual-distribution dialog)."""
