"""Sign and verify webhook bodies: HMAC-SHA256 over "<timestamp>.<body>".

Standard library only, so a receiver can copy this file as it is. Headers sent:

    X-Triage-Timestamp: 1764000000            (Unix seconds when the POST was made)
    X-Triage-Signature: sha256=<hex digest>   (HMAC-SHA256 of b"1764000000." + raw body, keyed by the secret)

A receiver recomputes the signature over the raw body it received (before any
JSON parsing), compares in constant time, and rejects a timestamp more than
five minutes away from its clock, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The X-Triage-Signature value for `body` sent at `timestamp`."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, event: str, delivery_id: str, body: bytes, now: float | None = None) -> dict:
    """The headers of a signed POST: event, delivery id (stable across retries), timestamp and signature."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        "X-Triage-Event": event,
        "X-Triage-Delivery": delivery_id,
        "X-Triage-Timestamp": timestamp,
        "X-Triage-Signature": sign(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when `signature` is ours for `body` and `timestamp` is within `tolerance` seconds of now."""
    if not timestamp or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature.strip())
