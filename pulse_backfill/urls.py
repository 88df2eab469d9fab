"""Locations as they may be shown: a URL's credentials, and the query where a signed URL keeps
its token, are as secret as a password."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

# user@host:path, git's scp-like syntax (a colon before any slash).
SCP_LIKE = re.compile(r"^(?P<user>[^@/:]+)@(?P<host>[^/:]+):(?P<path>.+)$")


def display_url(url: str) -> str:
    """The URL without credentials: a token in a URL is as secret as a password."""
    if SCP_LIKE.match(url):
        return url  # ssh's user (git@...) is not a secret, and there is no room for a password
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.scheme == "ssh" and parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def shown_location(location: str) -> str:
    """A path, or a URL as it may be printed and stored: no credentials, and no query (where a
    signed URL keeps its token)."""
    if "://" not in location:
        return location
    shown = display_url(location)
    return shown.split("?", 1)[0] + ("?..." if "?" in shown else "")


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials_in_the_clear(url: str) -> bool:
    """Whether `url` carries credentials over plain http:// off this machine: whoever is on
    the way can read them."""
    parts = urlsplit(url) if "://" in url else None
    return (
        parts is not None
        and parts.scheme.lower() == "http"
        and (parts.username is not None or parts.password is not None)
        and not is_loopback(url)
    )
