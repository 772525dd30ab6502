"""ASFS benchmarks: every hot path against a baseline doing the same work, in the same run.

`make bench` (``python -m bench``) runs them and writes ``bench/results.md``; see
``bench/__main__.py``. One module per workload; ``bench/common.py`` holds the shared parts.
"""
