"""The trace context the API puts into a run's conf, sent back with the callback."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelgate_retrain import logic
from modelgate_retrain.callback import post_callback

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_trace_headers_take_the_traceparent_and_tracestate_of_the_conf():
    sut = logic.trace_headers({"model_name": "iris", "traceparent": PARENT, "tracestate": "vendor=a1"})

    assert sut == {"traceparent": PARENT, "tracestate": "vendor=a1"}


@pytest.mark.parametrize(
    "conf",
    [
        None,
        {},
        {"traceparent": 42},
        {"traceparent": "00-not-a-trace"},
        {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
        {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"},
        {"traceparent": PARENT.upper()},
        {"traceparent": PARENT + "\r\nX-Injected: 1"},
    ],
)
def test_trace_headers_are_empty_for_a_conf_without_a_valid_traceparent(conf):
    assert logic.trace_headers(conf) == {}


def test_a_malformed_tracestate_is_dropped_and_the_traceparent_kept():
    sut = logic.trace_headers({"traceparent": PARENT, "tracestate": "a=1\nb=2"})

    assert sut == {"traceparent": PARENT}


class RecordingApi:
    """A loopback HTTP server that records each request's headers."""

    def __init__(self):
        self.headers: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.headers.append(dict(self.headers))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

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
    server = RecordingApi()
    yield server
    server.close()


def test_the_callback_sends_the_runs_traceparent_beside_its_token(api):
    settings = logic.CallbackSettings(url=api.url, token="t" * 32, timeout_seconds=5.0)

    post_callback(settings, {"event": "model_version_ready"}, logic.trace_headers({"traceparent": PARENT}))

    [headers] = api.headers
    assert headers["traceparent"] == PARENT
    assert headers["Authorization"] == "Bearer " + "t" * 32


def test_the_callback_sends_no_trace_headers_when_the_run_has_none(api):
    settings = logic.CallbackSettings(url=api.url, token="t" * 32, timeout_seconds=5.0)

    post_callback(settings, {"event": "model_version_ready"}, logic.trace_headers({}))

    [headers] = api.headers
    assert "traceparent" not in {key.lower() for key in headers}
