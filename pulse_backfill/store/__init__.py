"""The local store: one SQLite file of every event derived, which targets acknowledged it, and
where each origin's last sync left off.

Below the delivery and the commands, above the wire events (`pulse`) it records.
"""

from pulse_backfill.store.database import (
    OriginFacts,
    ReachedCommits,
    Store,
    StoreContents,
    SyncState,
    default_store_path,
    key_fingerprint,
    origin_locations,
    read_store,
    reading_syncs,
)
from pulse_backfill.store.lock import StoreLock
from pulse_backfill.store.schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "OriginFacts",
    "ReachedCommits",
    "Store",
    "StoreContents",
    "StoreLock",
    "SyncState",
    "default_store_path",
    "key_fingerprint",
    "origin_locations",
    "read_store",
    "reading_syncs",
]
