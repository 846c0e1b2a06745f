"""Encrypted Temporal payloads: what workflows and activities pass each other (names, emails,
comments, notes) is AES-GCM encrypted before it leaves the process, so workflow histories and
the Temporal UI hold ciphertext only. `kringloop codec-server` decrypts for an operator.

Each encrypted payload says which key made it (`encryption-key-id`); the first key in
KRINGLOOP_PAYLOAD_KEYS encrypts, every listed key decrypts, which is how keys are rotated: put
the new key first and keep the old one listed until no open workflow still holds its payloads.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverter, PayloadCodec

from kringloop.settings import PayloadKey, Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeyError(ValueError):
    """A payload this process cannot decrypt: its key is not configured, or it was altered."""


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole serialised payload (its metadata too), keyed by key id."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("the payload codec needs at least one key")
        self.key_id = keys[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated data: relabelling a payload with another key id fails.
        sealed = self._ciphers[self.key_id].encrypt(
            nonce, payload.SerializeToString(), self.key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                       data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            # Written before encryption was switched on (or by a process without it): as is.
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted with key {key_id!r}, which is not among "
                f"KRINGLOOP_PAYLOAD_KEYS ({', '.join(self._ciphers)}): add it to decrypt")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:],
                                   key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(f"payload with key id {key_id!r} does not decrypt: it was "
                                  "altered, or the key under that id is not the one that "
                                  "encrypted it") from None
        return Payload.FromString(plain)


class _FailuresWithoutPlainText(DefaultFailureConverter):
    """Error messages and stack traces can quote personal data: encrypt them too."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)


def data_converter(settings: Settings) -> DataConverter:
    """The converter every Temporal client of Kringloop uses (plain only if switched off)."""
    if not settings.payload_encryption:
        return DataConverter.default
    return dataclasses.replace(DataConverter.default,
                               payload_codec=EncryptionCodec(settings.payload_keyring),
                               failure_converter_class=_FailuresWithoutPlainText)
