"""The files people keep records in, incidents' or deployments': read from a path or an http(s)
URL (`fetch`), their rows (`tables`, pure), and what a CD system's export of deployments says
(`deployments`, pure). Below the concerns that read such files.
"""
