"""The DAG's call back to the API server: POST {API_SERVER_URL}/v1/hooks/airflow.

Any answer but 2xx, and any connection failure, raises CallbackError, so
Airflow retries the task (the API may be restarting) and the run ends failed
if it never answers. The token never appears in a message.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import requests

from modelgate_retrain.logic import CallbackSettings

log = logging.getLogger(__name__)

# Seconds to open the connection; the read timeout is the configured one (the
# API reloads the model before it answers, which can take a while).
CONNECT_TIMEOUT_SECONDS = 10.0
# Characters of an error answer quoted in the failure message.
MAX_BODY_QUOTE = 500


class CallbackError(RuntimeError):
    """The API did not accept the callback."""


def post_callback(
    settings: CallbackSettings, payload: dict[str, Any], trace_headers: Mapping[str, str] | None = None
) -> int:
    """Sends the payload; returns the HTTP status (2xx) or raises CallbackError.

    ``trace_headers`` (logic.trace_headers of the run's conf) go with it, so
    the API's span for the callback continues the trace that asked for the run."""
    try:
        response = requests.post(
            settings.url,
            json=payload,
            headers={
                **(trace_headers or {}),
                "Authorization": f"Bearer {settings.token}",
                "Accept": "application/json",
            },
            timeout=(min(CONNECT_TIMEOUT_SECONDS, settings.timeout_seconds), settings.timeout_seconds),
        )
    except requests.RequestException as exc:
        raise CallbackError(
            f"POST {settings.url} failed: {type(exc).__name__}: {exc}. "
            "Is the API server running, and does API_SERVER_URL point at it from the Airflow host?"
        ) from exc
    if not 200 <= response.status_code < 300:
        hint = ""
        if response.status_code in (401, 403):
            hint = " API_CALLBACK_TOKEN must be the same on the Airflow and the API servers."
        raise CallbackError(
            f"POST {settings.url} answered {response.status_code}: {response.text[:MAX_BODY_QUOTE]!r}.{hint}"
        )
    log.info("POST %s answered %s", settings.url, response.status_code)
    return response.status_code
