"""Generated models that carry a secret, with the secret kept out of `repr()` and `str()`
(a logged or printed result must not leak it; the generated file cannot say so itself)."""

from __future__ import annotations

from pydantic import Field

from . import models


class AccessToken(models.AccessToken):
    """`GET /v1/profiles/{id}/access-token`'s answer; `access_token` is readable but never shown."""

    access_token: str = Field(repr=False)
    """The token the profile acts with (a Page profile's own Page token)."""
