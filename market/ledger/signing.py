"""Ed25519 signatures of tree heads.

The signed message is the canonical JSON (market.ledger.canonical) of
``{"log":"qaldyq-ledger-v1","root":<hex>,"size":<n>,"timestamp":<unix seconds>}`` as UTF-8.
The key id is the hex SHA-256 of the raw 32-byte public key.

The private key comes from LEDGER_SIGNING_KEY: the base64 of the raw 32-byte seed, or the path
of a file holding that base64 text (or the 32 raw bytes). When it is unset outside production, a
key is generated once into the instance folder (ledger_signing.key, never committed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from market.ledger.canonical import canonical_json

LOG_ID = "qaldyq-ledger-v1"
KEY_FILE = "ledger_signing.key"
_cache: dict[str, Ed25519PrivateKey] = {}


class SigningKeyMissing(RuntimeError):
    pass


def head_message(size: int, root_hex: str, timestamp: int) -> bytes:
    return canonical_json({"log": LOG_ID, "root": root_hex, "size": int(size),
                           "timestamp": int(timestamp)}).encode()


def _seed_from_text(text: str) -> bytes:
    try:
        seed = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyMissing("LEDGER_SIGNING_KEY is not base64") from exc
    if len(seed) != 32:
        raise SigningKeyMissing("LEDGER_SIGNING_KEY must be a 32-byte Ed25519 seed")
    return seed


def _load_seed(setting: str) -> bytes:
    path = Path(setting)
    if len(setting) < 200 and path.is_file():
        data = path.read_bytes()
        return data if len(data) == 32 else _seed_from_text(data.decode("ascii", "replace"))
    return _seed_from_text(setting)


def _instance_seed() -> bytes:
    path = Path(current_app.instance_path) / KEY_FILE
    if not path.exists():
        seed = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(seed).decode() + "\n")
    return _seed_from_text(path.read_text())


def private_key() -> Ed25519PrivateKey:
    setting = current_app.config.get("LEDGER_SIGNING_KEY") or ""
    cache_key = setting or f"instance:{current_app.instance_path}"
    if cache_key not in _cache:
        if setting:
            seed = _load_seed(setting)
        elif current_app.config.get("LEDGER_KEY_AUTOGENERATE", True):
            seed = _instance_seed()
        else:
            raise SigningKeyMissing("Set LEDGER_SIGNING_KEY to sign ledger tree heads.")
        _cache[cache_key] = Ed25519PrivateKey.from_private_bytes(seed)
    return _cache[cache_key]


def public_key_bytes(key: Ed25519PrivateKey | None = None) -> bytes:
    key = key or private_key()
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()


def public_key_info() -> dict | None:
    """The published key's forms (None: no key configured, production without one)."""
    try:
        raw = public_key_bytes()
    except SigningKeyMissing:
        return None
    pem = private_key().public_key().public_bytes(Encoding.PEM,
                                                  PublicFormat.SubjectPublicKeyInfo).decode()
    return {"algorithm": "Ed25519", "key_id": key_id(raw),
            "public_key": base64.b64encode(raw).decode(), "public_key_hex": raw.hex(),
            "public_key_pem": pem, "log": LOG_ID,
            "signed_message": 'canonical JSON {"log","root","size","timestamp"}'}


def sign_head(size: int, root_hex: str, timestamp: int) -> tuple[str, str]:
    """(signature hex, key id) of a tree head."""
    key = private_key()
    signature = key.sign(head_message(size, root_hex, timestamp))
    return signature.hex(), key_id(public_key_bytes(key))


def check_signature(public: bytes, size: int, root_hex: str, timestamp: int,
                    signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            bytes.fromhex(signature_hex), head_message(size, root_hex, timestamp))
    except (InvalidSignature, ValueError):
        return False
    return True
