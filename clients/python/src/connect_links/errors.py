"""The SDK's exceptions: an API error answer, and a webhook that did not verify."""

from __future__ import annotations

import httpx


class ConnectLinksError(Exception):
    """An error answer of the API, from its `{"error": {"code", "message"}}` body.

    `code` is the contract's error code (`unauthorized`, `not_found`, `invalid_request`,
    `rate_limited`, ...), `status` the HTTP status, `message` the server's sentence (which the
    contract says never holds a token, code, verifier or secret). `retry_after` is the
    `Retry-After` of a 429, in seconds, when it gave one. An answer without that body (a proxy
    in front of the worker, say) gets the code `http_error` and a message naming only the status.
    """

    def __init__(self, code: str, status: int, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"ConnectLinksError(code={self.code!r}, status={self.status}, message={self.message!r})"

    @classmethod
    def from_response(cls, response: httpx.Response) -> ConnectLinksError:
        """The error an answer carries. The body is read only for its `error` object: an
        unexpected body is not copied into the message (it is not ours to show)."""
        code, message = "http_error", f"HTTP {response.status_code} without an error body"
        try:
            error = response.json().get("error")
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                code = error["code"]
                message = str(error.get("message", ""))
        except (ValueError, AttributeError):
            pass
        return cls(code, response.status_code, message, retry_after_seconds(response))


class WebhookVerificationError(Exception):
    """A webhook whose signature, timestamp or body did not verify: answer it 400 and drop it."""


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The answer's `Retry-After` in seconds (the worker sends whole seconds), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: the worker's own 429s never send one
    return seconds if seconds >= 0 else None
