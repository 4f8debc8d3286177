"""The typed webhook events cover every type the document lists, and only those."""

from __future__ import annotations

import typing

from connect_links import events, models


def test_every_event_type_of_the_document_has_its_model():
    documented = set(typing.get_args(models.WebhookEvent.model_fields["type"].annotation))
    assert events.KNOWN_TYPES == documented
    typed = set()
    for model in (events.ProfileEvent, events.ConnectLinkFailedEvent, events.PlatformEvent, events.WebhookTestEvent):
        typed |= set(typing.get_args(model.model_fields["type"].annotation))
    assert typed == documented


def test_a_type_newer_than_the_package_is_kept_as_unknown():
    event = events.parse_event("evt_1", {"type": "profile.renamed", "timestamp": "2026-01-02T03:04:05Z", "data": {"id": "x"}})
    assert isinstance(event, events.UnknownEvent)
    assert (event.type, event.data) == ("profile.renamed", {"id": "x"})
