"""The DAG's callback against a real HTTP server on loopback (no mocks)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelgate_retrain.callback import CallbackError, post_callback
from modelgate_retrain.logic import CallbackSettings

TOKEN = "test-callback-token-0123456789"
PAYLOAD = {"event": "model_version_ready", "version": "1"}


class FakeApi:
    """A tiny HTTP server that records what it receives and answers `status`."""

    def __init__(self):
        self.status = 204
        self.delay = 0.0
        self.received: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body or b"null")}
                )
                time.sleep(api.delay)
                self.send_response(api.status)
                answer = b'{"message": "nope"}' if api.status >= 300 else b""
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/hooks/airflow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


def settings(url: str, timeout: float = 5.0) -> CallbackSettings:
    return CallbackSettings(url=url, token=TOKEN, timeout_seconds=timeout)


def test_posts_the_payload_as_json_with_the_bearer_token(api):
    status = post_callback(settings(api.url), PAYLOAD)

    assert status == 204
    [request] = api.received
    assert request["path"] == "/v1/hooks/airflow"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == PAYLOAD


def test_raises_on_a_server_error_so_airflow_retries(api):
    api.status = 503

    with pytest.raises(CallbackError, match="answered 503"):
        post_callback(settings(api.url), PAYLOAD)


def test_raises_on_unauthorized_with_a_hint_and_without_the_token(api):
    api.status = 401

    with pytest.raises(CallbackError, match="API_CALLBACK_TOKEN must be the same") as error:
        post_callback(settings(api.url), PAYLOAD)
    assert TOKEN not in str(error.value)


def test_raises_when_nothing_listens():
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(CallbackError, match="Is the API server running"):
        post_callback(settings(f"http://127.0.0.1:{port}/v1/hooks/airflow"), PAYLOAD)


def test_raises_when_the_api_answers_too_late(api):
    api.delay = 1.0

    with pytest.raises(CallbackError, match="ReadTimeout"):
        post_callback(settings(api.url, timeout=0.2), PAYLOAD)
