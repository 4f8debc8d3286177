"""What each convenience method sends and how its answer is read, written once for the sync
and the async client (they differ only in how they wait for the answer)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import httpx
from pydantic import BaseModel, ValidationError

from . import models
from .errors import ConnectLinksError, retry_after_seconds
from .secret_models import AccessToken

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Operation:
    """One API call: the request, and `parse`, which turns a 2xx answer into its result."""

    method: str
    path: str
    parse: Callable[[httpx.Response], Any]
    json: Any = None
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """When a call is sent again. The docs name one answer as safe to repeat: a 429
    `rate_limited` from the worker's own limits, after which "nothing is done" (docs/limits.md).
    It is retried after its `Retry-After`, when that is at most `max_wait` seconds, up to
    `max_retries` times. Nothing else is retried: the API documents no idempotency for its
    writes, and a network error may come after the worker acted."""

    max_retries: int = 2
    max_wait: float = 5.0

    def delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before sending again after `response` (the `attempt`th retry
        would follow), or None to keep the answer."""
        if response.status_code != 429 or attempt >= self.max_retries:
            return None
        if ConnectLinksError.from_response(response).code != "rate_limited":
            return None
        wait = retry_after_seconds(response)
        if wait is None or wait > self.max_wait:
            return None
        return wait


def finish(op: Operation, response: httpx.Response) -> Any:
    """The operation's result, or its `ConnectLinksError` for a non-2xx answer."""
    if not response.is_success:
        raise ConnectLinksError.from_response(response)
    return op.parse(response)


def segment(value: str) -> str:
    """An id as one path segment (a stray `/` or `?` in it cannot reach another route)."""
    return quote(str(value), safe="")


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _nothing(_response: httpx.Response) -> None:
    return None


def _check(model: type[BaseModel], body: dict[str, Any]) -> None:
    """Raises `ValueError` when `body` does not match the request schema `model`. The message
    names the fields and rules only: pydantic's own would quote the values (a connect token)."""
    try:
        model.model_validate(body)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors(include_input=False))
        raise ValueError(f"{model.__name__}: {problems}") from None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def create_link(platform: str | None, redirect_url: str, **fields: Any) -> Operation:
    """`POST /v1/connect-links`; the body is checked against the document's request schema
    before it is sent (a `ValueError` naming each field the document refuses), then
    sent as given: the model's dump would normalize `redirect_url` (a `/` added to a bare
    origin), and the worker compares the URL it gets with the app's allowed ones."""
    # `platform` None: `platforms` (a chooser), or neither (every platform configured).
    body = {**_without_none({"platform": platform}), "redirect_url": redirect_url, **_without_none(fields)}
    _check(models.CreateConnectLinkRequest, body)
    return Operation("POST", "/v1/connect-links", _model(models.ConnectLinkCreated), json=body)


def get_link(link_id: str) -> Operation:
    """`GET /v1/connect-links/{id}`."""
    return Operation("GET", f"/v1/connect-links/{segment(link_id)}", _model(models.ConnectLink))


def claim(link_id: str, connect_token: str) -> Operation:
    """`POST /v1/connect-links/{id}/claim`: the link's profiles."""
    body = {"connect_token": connect_token}
    _check(models.ClaimRequest, body)
    return Operation("POST", f"/v1/connect-links/{segment(link_id)}/claim", lambda r: models.ClaimResult.model_validate_json(r.content).data, json=body)


def list_profiles(**params: Any) -> Operation:
    """`GET /v1/profiles` (one page)."""
    return Operation("GET", "/v1/profiles", _model(models.ProfileList), params=_without_none(params))


def get_profile(profile_id: str) -> Operation:
    """`GET /v1/profiles/{id}`."""
    return Operation("GET", f"/v1/profiles/{segment(profile_id)}", _model(models.Profile))


def delete_profile(profile_id: str) -> Operation:
    """`DELETE /v1/profiles/{id}` (204)."""
    return Operation("DELETE", f"/v1/profiles/{segment(profile_id)}", _nothing)


def access_token(profile_id: str) -> Operation:
    """`GET /v1/profiles/{id}/access-token`."""
    return Operation("GET", f"/v1/profiles/{segment(profile_id)}/access-token", _model(AccessToken))


def proxy_path(profile_id: str, path: str) -> str:
    """`/v1/profiles/{id}/proxy/{path}`: `path` is the platform API's own path, kept as given
    (its slashes and query are the platform's). A segment that is `.` or `..`, written plainly
    or percent-encoded (`%2e%2e`), is refused, and so is a backslash (read as a slash): httpx
    or the worker's runtime would resolve it before routing, and the call would leave the proxy
    route for another route of the API, with the app's key (another profile's access token)."""
    path = path.lstrip("/")
    route = path.split("?", 1)[0].split("#", 1)[0]
    if "\\" in route or any(unquote(part) in (".", "..") for part in route.split("/")):
        raise ValueError("proxy path has a '.' or '..' segment (plain or percent-encoded) or a backslash")
    return f"/v1/profiles/{segment(profile_id)}/proxy/{path}"
