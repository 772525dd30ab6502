"""Qt table models: each holds ids and compact row tuples, never a copy of the registry."""
