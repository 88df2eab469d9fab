"""Sending events to Pulse: the HTTP client and its connections, the retry policy, the concurrent
scheduler that records each event in the store as it goes, and what was or was not delivered.
"""
