"""The four keys: computed as Pulse computes them (`keys`, pure), from the store or an export
(`build`), and shown on the terminal or as one HTML page (`view`).
"""
