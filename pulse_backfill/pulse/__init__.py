"""Pulse's ingestion protocol as the standard CLI speaks it: the events' JSON bodies, byte for
byte, the endpoint and its checks, the Environment header, and NDJSON exports read back.
Pure of I/O but for reading an export; uses the derivation's data to make events of it.
"""
