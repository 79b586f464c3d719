"""Opening a store for one piece of work, waiting for a parallel note or falling back to a private one."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from ..errors import StoreError, StoreLockedError
from .database import Store

__all__ = ["with_store"]


def with_store(path: str | Path, work, *, cache: bool = False, attempts: int = 30,
               wait: float = 1.0):
    """Run ``work(store)`` on the store at ``path`` opened for writing, then close it.

    A cache store (``cache=True``) that another process holds — a parallel note — is waited for
    (``attempts`` tries, ``wait`` seconds apart); if it stays locked or cannot be opened as a
    store, ``work`` runs on a private temporary store, deleted afterwards (the caller's data are
    read again; nothing is lost, the run is only slower). A store the caller named is never
    replaced: its errors are raised.

    Returns
    -------
    (result, Path or None)
        What ``work`` returned, and the store used (None for the temporary one).
    """
    path = Path(path)
    for attempt in range(attempts if cache else 1):
        try:
            st = Store(path)
        except StoreLockedError:
            if not cache:
                raise
            if attempt < attempts - 1:
                time.sleep(wait)
            continue
        except StoreError:
            if not cache:
                raise
            break
        try:
            return work(st), path
        finally:
            st.close()
    tmp = Path(tempfile.mkdtemp(prefix="proforient-store-"))
    try:
        st = Store(tmp / "store.duckdb")
        try:
            return work(st), None
        finally:
            st.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
