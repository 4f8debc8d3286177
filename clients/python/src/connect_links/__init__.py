"""connect-links for Python: a sync (`ConnectLinks`) and an async (`AsyncConnectLinks`) client,
the API's models generated from its OpenAPI document (`connect_links.models`), typed webhook
events and their verification (`Webhooks`), and `ConnectLinksError` for error answers."""

from . import models
from .async_client import AsyncConnectLinks
from .client import ConnectLinks
from .errors import ConnectLinksError, WebhookVerificationError
from .events import ConnectLinkFailedEvent, PlatformEvent, ProfileEvent, UnknownEvent, WebhookEvent, WebhookTestEvent
from .secret_models import AccessToken
from .webhooks import Webhooks

__all__ = [
    "AccessToken",
    "AsyncConnectLinks",
    "ConnectLinkFailedEvent",
    "ConnectLinks",
    "ConnectLinksError",
    "PlatformEvent",
    "ProfileEvent",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookTestEvent",
    "WebhookVerificationError",
    "Webhooks",
    "models",
]
