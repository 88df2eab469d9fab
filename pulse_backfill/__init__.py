"""Backfill Pulse with a repository's history of deployments and changes."""

__version__ = "0.1.0"
