"""The only code that runs git: a repository's tags and history as plain data (`derive.history`),
clones of URLs and their cache, and the `--repos` manifest.
"""
