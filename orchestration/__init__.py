"""The domain: channels, content filters, distribution, scheduling, publishing, orchestrator.

Plain Python with no Qt and no Playwright, called the same way by tests, the command
line, the HTTP API and the window.
"""
