"""Shared fixtures of the SDK's tests: the worker the e2e run started (tests/e2e/sdk-python.test.mjs
passes it in CL_* environment variables), and a local webhook receiver.

The tests import the installed package (`make venv` installs clients/python into .venv), never
the source tree: what a user's `pip install` gets is what is tested.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import connect_links
import httpx
import pytest

WORKER_VARS = (
    "CL_BASE_URL", "CL_API_KEY", "CL_APP_ID", "CL_ADMIN_TOKEN", "CL_WEBHOOK_SECRET",
    "CL_SYNC_LINK_ID", "CL_SYNC_CONNECT_TOKEN", "CL_ASYNC_LINK_ID", "CL_ASYNC_CONNECT_TOKEN",
)


def pytest_configure(config: pytest.Config) -> None:
    # A test run on the source tree would prove nothing about the package users install.
    assert "site-packages" in connect_links.__file__, f"connect_links imported from {connect_links.__file__}, not the installed package"


@dataclass(frozen=True)
class Worker:
    """The running worker and the app the e2e test made for these tests."""

    base_url: str
    # Secrets stay out of repr(): pytest prints a fixture's repr when a test using it fails.
    api_key: str = field(repr=False)
    app_id: str
    admin_token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    links: dict[str, tuple[str, str]] = field(repr=False)  # "sync"/"async" -> (link_id, connect_token), unclaimed


@pytest.fixture(scope="session")
def worker() -> Worker:
    missing = [v for v in WORKER_VARS if not os.environ.get(v)]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run these tests with node --test tests/e2e/sdk-python.test.mjs")
    env = os.environ
    return Worker(
        env["CL_BASE_URL"], env["CL_API_KEY"], env["CL_APP_ID"], env["CL_ADMIN_TOKEN"], env["CL_WEBHOOK_SECRET"],
        {
            "sync": (env["CL_SYNC_LINK_ID"], env["CL_SYNC_CONNECT_TOKEN"]),
            "async": (env["CL_ASYNC_LINK_ID"], env["CL_ASYNC_CONNECT_TOKEN"]),
        },
    )


@dataclass
class Delivery:
    """One webhook request as the receiver got it: headers (lower-case names) and raw body."""

    headers: dict[str, str]
    body: bytes


class Receiver:
    """An app's webhook endpoint on 127.0.0.1 (what the worker allows over http): keeps every
    delivery and answers 204."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._arrived:
                    receiver.deliveries.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver._arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # quiet: the test's output is for failures

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, type_: str, profile_id: str, timeout: float = 10.0) -> Delivery:
        """The first delivery whose body is a `type_` event about `profile_id` (verified later
        by the test, with the SDK): waits for it up to `timeout` seconds."""

        def find() -> Delivery | None:
            for d in self.deliveries:
                if f'"type":"{type_}"'.encode() in d.body and profile_id.encode() in d.body:
                    return d
            return None

        with self._arrived:
            if not self._arrived.wait_for(find, timeout):
                raise AssertionError(f"no {type_} delivery for {profile_id} within {timeout} s ({len(self.deliveries)} deliveries)")
            return find()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="session")
def receiver(worker: Worker):
    """The receiver, set as the app's `webhook_url` (the operator's `PATCH /v1/admin/apps/{id}`)."""
    r = Receiver()
    answer = httpx.patch(
        f"{worker.base_url}/v1/admin/apps/{worker.app_id}",
        json={"webhook_url": r.url},
        headers={"authorization": f"Bearer {worker.admin_token}"},
    )
    assert answer.status_code == 200, f"setting webhook_url: {answer.status_code}"
    yield r
    r.stop()
