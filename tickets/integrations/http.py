"""The one HTTP poster for everything this product sends out: help-desk webhooks, SLA alerts, chat.

Signed requests carry the headers of `signing.signed_headers`. A POST never raises: the caller gets
what happened (status code, the start of the answer, the error) and decides whether to retry.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tickets.integrations.signing import signed_headers

USER_AGENT = "triage-webhooks/1"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def json_body(payload: Any) -> bytes:
    """The exact bytes signed and sent: compact, keys sorted."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def post_json(
    url: str,
    body: bytes,
    *,
    timeout: float,
    secret: str | None = None,
    event: str = "",
    delivery_id: str = "",
    headers: dict[str, str] | None = None,
) -> PostResult:
    """POST `body` (JSON) to `url`; signed with `secret` when one is given. Never raises."""
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    if secret is not None:
        sent |= signed_headers(secret=secret, event=event, delivery_id=delivery_id, body=body)
    request = urllib.request.Request(url, data=body, method="POST", headers=sent)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (URL set by an admin)
            code, text, error = response.status, response.read(2000), ""
    except urllib.error.HTTPError as exc:
        code, text, error = exc.code, exc.read(2000) if exc.fp else b"", f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        code, text, error = None, b"", f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    took_ms = int((time.monotonic() - started) * 1000)
    return PostResult(code, error[:1000], text.decode("utf-8", "replace")[:2000], took_ms)
