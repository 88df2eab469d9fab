"""Incidents from where teams keep them: status pages, PagerDuty, files (`sources`, which
fetch), and the reading of their records into incident events (`records`, pure).
"""
