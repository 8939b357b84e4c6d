"""Uploaded files live outside the database, behind a small storage interface.

A storage keeps bytes under *keys* that the application makes with :func:`new_key` (a fixed
prefix such as ``lots/12/photo`` and a random UUID): a key is never derived from a user's
file name, and :func:`check_key` refuses anything else (no dots, so no ``..``; lower-case
letters, digits, ``-``, ``_`` and ``/`` only), so a path traversal cannot be expressed.

Backends are chosen by the ``STORAGE_BACKEND`` setting:

* ``"local"`` (the default): :class:`LocalStorage`, files in the folder ``UPLOAD_DIR``.
* ``"package.module:factory"``: ``factory(app)`` returns any object with the four methods of
  :class:`Storage`. This is how an S3-compatible backend (AWS S3, MinIO, Ceph, a cloud's
  object storage) plugs in, with boto3 in the production image only::

      # deploy/s3storage.py — STORAGE_BACKEND=deploy.s3storage:S3Storage
      import boto3
      from botocore.exceptions import ClientError

      class S3Storage:
          def __init__(self, app):
              self.bucket = app.config["S3_BUCKET"]
              self.s3 = boto3.client("s3", endpoint_url=app.config.get("S3_ENDPOINT_URL"))

          def save(self, key, fileobj):
              self.s3.upload_fileobj(fileobj, self.bucket, key)

          def open(self, key):
              try:
                  return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
              except self.s3.exceptions.NoSuchKey:
                  raise FileNotFoundError(key) from None

          def delete(self, key):
              self.s3.delete_object(Bucket=self.bucket, Key=key)  # no error when missing

          def exists(self, key):
              try:
                  self.s3.head_object(Bucket=self.bucket, Key=key)
              except ClientError:
                  return False
              return True

  The bucket stays private: files are still served by the application (which checks who may
  see them and sets the headers), the object store only keeps the bytes. The factory's
  result is cached per application, so a client is made once per process.

Files and transactions: a file is written before its row is committed. Call
:func:`delete_on_rollback` right after saving, so the bytes go away if the transaction does
not commit, and :func:`delete_after_commit` to remove bytes only once the deletion of their
row has committed.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from market.core.txn import after_commit
from market.extensions import db

log = logging.getLogger(__name__)

KEY_RE = re.compile(r"[a-z0-9]+(?:[/_-][a-z0-9]+)*")
CHUNK = 256 * 1024


class Storage(Protocol):
    """What every storage backend offers."""

    def save(self, key: str, fileobj: BinaryIO) -> None:
        """Store the stream's bytes (read from its current position) under a new key."""

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the bytes; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Remove the bytes; no error when they are already gone."""

    def exists(self, key: str) -> bool:
        """Whether bytes are stored under the key."""


def check_key(key: str) -> str:
    """The key itself, or ValueError for anything the application would not have made."""
    if not isinstance(key, str) or len(key) > 200 or not KEY_RE.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def new_key(prefix: str) -> str:
    """A fresh random key under a fixed prefix of the application (e.g. ``lots/12/photo``)."""
    return check_key(f"{check_key(prefix)}/{uuid.uuid4().hex}")


class LocalStorage:
    """Files in a folder of this machine (development, one-server installs, tests)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):  # unreachable with a valid key; kept as a belt
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def save(self, key: str, fileobj: BinaryIO) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as out:  # "x": a key is written once, never overwritten
            try:
                shutil.copyfileobj(fileobj, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                out.close()
                path.unlink(missing_ok=True)
                raise

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()


def _load_factory(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RuntimeError(f"STORAGE_BACKEND must be 'local' or 'package.module:factory', not {spec!r}")
    return getattr(importlib.import_module(module_name), attr)


def get_storage(app: Flask | None = None) -> Storage:
    """The storage configured for the application (STORAGE_BACKEND)."""
    app = app or current_app
    backend = app.config.get("STORAGE_BACKEND") or "local"
    if backend == "local":  # cheap to make; follows UPLOAD_DIR even when a test changes it
        return LocalStorage(app.config["UPLOAD_DIR"])
    cache = app.extensions.setdefault("qaldyq_storage", {})
    if backend not in cache:
        cache[backend] = _load_factory(backend)(app)
    return cache[backend]


# Files and transactions ---------------------------------------------------------------------

_PENDING = "storage_written"


def _quiet_delete(storage: Storage, key: str) -> None:
    try:
        storage.delete(key)
    except Exception:  # a leftover file is harmless; a failed request because of it is not
        log.exception("could not delete stored file %s", key)


def delete_on_rollback(storage: Storage, key: str) -> None:
    """Delete the bytes just saved under key unless the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append((storage, key))


def delete_after_commit(storage: Storage, key: str) -> None:
    """Delete the bytes under key once the current transaction has committed (never before)."""
    after_commit(_quiet_delete, storage, key)


@event.listens_for(Session, "after_commit")
def _keep_written(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint is not a commit yet
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_written(session: Session, transaction) -> None:
    # The outermost transaction ended without a commit (rollback or close): forget its files.
    if transaction.parent is None and not transaction.nested:
        for storage, key in session.info.pop(_PENDING, []):
            _quiet_delete(storage, key)
