"""Typed webhook events: the document's `WebhookEvent` body, told apart by `type`.

The document types `data` as "a profile, a failed link or a platform event" without tying each
to its `type`; these models tie them, so `event.data` has the right type after a check of
`event.type`. Every type the document's `EventType` lists is covered (a test holds that).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from . import models

PROFILE_EVENT_TYPES = (
    "profile.connected",
    "profile.reconnected",
    "profile.refresh_failed",
    "profile.recovered",
    "profile.disconnected",
    "profile.expiring",
    "profile.deleted",
)


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    """The `webhook-id` header (`evt_...`), the same on every retry: handle each id once."""
    timestamp: AwareDatetime
    """When the event happened (the body's `timestamp`)."""


class ProfileEvent(_Event):
    """A `profile.*` event: `data` is the profile as the API shows it (never a token)."""

    type: Literal[
        "profile.connected",
        "profile.reconnected",
        "profile.refresh_failed",
        "profile.recovered",
        "profile.disconnected",
        "profile.expiring",
        "profile.deleted",
    ]
    data: models.Profile


class ConnectLinkFailedEvent(_Event):
    """`connect_link.failed`: a connect that did not complete."""

    type: Literal["connect_link.failed"]
    data: models.ConnectLinkFailedData


class PlatformEvent(_Event):
    """`platform.event`: an event a platform pushed about an account the profile holds."""

    type: Literal["platform.event"]
    data: models.PlatformEventData


class WebhookTestEvent(_Event):
    """`webhook.test`: a test the operator sent from the console; it reports no change."""

    type: Literal["webhook.test"]
    data: models.WebhookTestData


class UnknownEvent(_Event):
    """An event type this version of the SDK does not know (a newer worker's): `data` as sent."""

    type: str
    data: Any


WebhookEvent = Annotated[
    ProfileEvent | ConnectLinkFailedEvent | PlatformEvent | WebhookTestEvent, Field(discriminator="type")
]
"""Any event this SDK knows, told apart by `type`."""

_known = TypeAdapter(WebhookEvent)
KNOWN_TYPES = frozenset((*PROFILE_EVENT_TYPES, "connect_link.failed", "platform.event", "webhook.test"))


def parse_event(
    webhook_id: str, body: dict[str, Any]
) -> ProfileEvent | ConnectLinkFailedEvent | PlatformEvent | WebhookTestEvent | UnknownEvent:
    """The typed event of a verified body (a `pydantic.ValidationError` when a known type's
    body does not match the document)."""
    fields = {**body, "id": webhook_id}
    if body.get("type") in KNOWN_TYPES:
        return _known.validate_python(fields)
    return UnknownEvent.model_validate(fields)
