"""The ingestion endpoint: its URL, the checks on it, and the key kept out of what is shown.

Light on purpose: the CLI checks options with it before anything imports the HTTP stack.
"""

from __future__ import annotations

from urllib.parse import urlencode, urljoin, urlsplit

from pulse_backfill.errors import UsageError
from pulse_backfill.urls import is_loopback

DEFAULT_BASE_URL = "https://ingestion.pulse.codacy.com"
INGESTION_PATH = "/v1/ingestion/cli"
DEFAULT_TIMEOUT = 30.0  # seconds to wait for an answer
REDACTED = "***"


def check_base_url(base_url: str, *, insecure: bool = True) -> str:
    """The base URL, if it is an http(s) URL with a host; a usage error naming the fix if not.

    Unless `insecure`, plain http is only for loopback: the key travels in the query string.
    """
    try:
        parts = urlsplit(base_url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        valid = False
    if valid and (parts.username is not None or parts.password is not None):
        # Never shown, not even in this message: the URL itself is the secret's carrier.
        raise UsageError(
            "--base-url must not carry credentials (user:password@): the API key goes in "
            "PULSE_API_KEY or --api-key-file, a proxy's credentials in HTTPS_PROXY"
        )
    if not valid:
        raise UsageError(
            f"--base-url {base_url!r} is not an http(s) URL: pass one like {DEFAULT_BASE_URL}"
        )
    if parts.scheme == "http" and not insecure and not is_loopback(base_url):
        raise UsageError(
            f"--base-url {base_url} would send the API key unencrypted: use https://, "
            "or pass --insecure to allow plain http"
        )
    return base_url


def endpoint(base_url: str) -> str:
    # The standard CLI resolves an absolute path against the base URL: its path is replaced.
    return urljoin(base_url, INGESTION_PATH)


def redact(text: str, api_key: str) -> str:
    """`text` with the key replaced, for anything we print."""
    if not api_key:
        return text
    for form in {api_key, urlencode({"k": api_key})[2:]}:
        text = text.replace(form, REDACTED)
    return text
