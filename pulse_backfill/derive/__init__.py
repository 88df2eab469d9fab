"""Pure: which tags are deployments, in which order, and which commits each shipped first.

No git, no HTTP, no SQLite, no terminal (a contract in pyproject.toml): it reads plain data
(`history`) and git's log lines, wherever they come from.
"""
