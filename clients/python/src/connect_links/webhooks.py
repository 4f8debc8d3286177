"""Webhook verification (Standard Webhooks, with the `standardwebhooks` package)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import standardwebhooks
from pydantic import ValidationError

from .errors import WebhookVerificationError
from .events import ConnectLinkFailedEvent, PlatformEvent, ProfileEvent, UnknownEvent, parse_event


class Webhooks:
    """Verifies deliveries with the app's `whsec_...` secret (shown once when the app was
    created or its secret rotated). Usable alone, without an API key: `Webhooks(secret)`."""

    def __init__(self, secret: str | None):
        self._verifier = standardwebhooks.Webhook(secret) if secret else None

    def __repr__(self) -> str:
        return f"Webhooks(secret={'set' if self._verifier else 'unset'})"

    def verify(self, headers: Mapping[str, str], body: bytes | str) -> ProfileEvent | ConnectLinkFailedEvent | PlatformEvent | UnknownEvent:
        """The typed event of a delivery, or `WebhookVerificationError`.

        `headers` are the request's (any mapping; names in any case), `body` the raw body exactly
        as received (verify before parsing: re-serialized JSON does not verify). The signature
        (either one, during a secret rotation) and a timestamp within 5 minutes are checked.
        """
        if self._verifier is None:
            raise WebhookVerificationError("no webhook secret: pass webhook_secret to the client")
        lowered = {str(k).lower(): v for k, v in headers.items()}
        try:
            payload = self._verifier.verify(body, lowered)
        except standardwebhooks.WebhookVerificationError as e:
            raise WebhookVerificationError(f"webhook did not verify: {e}") from None
        except json.JSONDecodeError:
            raise WebhookVerificationError("webhook body is not JSON") from None
        if not isinstance(payload, dict):
            raise WebhookVerificationError("webhook body is not a JSON object")
        try:
            return parse_event(lowered["webhook-id"], payload)
        except ValidationError as e:
            raise WebhookVerificationError(f"webhook body does not match the contract: {e.error_count()} errors") from None
