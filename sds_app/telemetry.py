"""Operations telemetry: request and profile ids on every log line; traces and metrics when asked.

Every record of the app's own loggers (`sds_app.*`) is one line whatever it quotes: its message
is rendered and made inert (sds_core.text.inert: control characters escaped), so a newline in a
URL segment, a file name or a Graph error message cannot forge a line. The Azure SDKs' loggers
(AZURE_SDK_LOGGERS: the HTTP logging policy writes two multi-line records per storage call) stay
at WARNING unless SDS_AZURE_SDK_LOG_LEVEL asks for more (DEBUG, INFO, WARNING, ERROR): the worker
forwards every record at INFO to the host, and each is an Application Insights record.

Inside `operation(...)` every log record, whatever its logger, carries the request id and, where
known, the profile id: in its text (`[request-id …] [profile-id …] message`, since the Functions
host keeps the text and drops extra fields) and as the attributes `sds_request_id` and
`sds_profile_id`. With APPLICATIONINSIGHTS_CONNECTION_STRING set, the Azure Monitor
OpenTelemetry distro (imported only then) also exports a span per operation and the metrics
below; without it nothing of OpenTelemetry is imported and the record_* calls do nothing.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sds_core.text import inert

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SDK_LOG_LEVEL_SETTING = "SDS_AZURE_SDK_LOG_LEVEL"
SDK_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The Azure SDK packages the app uses log under their package names (azure.core holds the HTTP
# logging policy); `azure.functions` is the worker's own logger and keeps the worker's level.
AZURE_SDK_LOGGERS = ("azure.core", "azure.storage", "azure.data", "azure.identity", "azure.monitor", "msal")
APP_LOGGER = "sds_app"
MAX_LINE = 8192  # characters of one app log message (Application Insights keeps 32768)
INSTRUMENTATION_NAME = "sds_app"
# Ids reach log text as they are: only ids of a profile id's shape (sds_app.http.profile_access,
# and our request ids, UUIDs) are bound, so none can forge a line or hold a %-placeholder.
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PROFILE_IN_PATH = re.compile(r"/education/synchronizationProfiles/([^/?#]+)")

_request_id: ContextVar[str | None] = ContextVar("sds_request_id", default=None)
_profile_id: ContextVar[str | None] = ContextVar("sds_profile_id", default=None)
_lock = threading.Lock()
_LOG = logging.getLogger("sds_app.telemetry")


@dataclass(frozen=True)
class _Exporting:
    """The tracer and instruments of an exporting process."""

    tracer: Any
    verification_seconds: Any
    rows_verified: Any
    records_applied: Any
    queue_age_seconds: Any


_installed = False
_configured = False
_exporting: _Exporting | None = None


def prefix(request_id: str | None, profile_id: str | None) -> str:
    """The text put before each log message: `[request-id …] [profile-id …]`, either optional."""
    parts = [f"[request-id {request_id}]"] if request_id else []
    if profile_id:
        parts.append(f"[profile-id {profile_id}]")
    return " ".join(parts)


def profile_in_path(path: str) -> str | None:
    """The profile id of a `/beta/education/synchronizationProfiles/{id}...` path, when it is one."""
    found = _PROFILE_IN_PATH.search(path)
    return found.group(1) if found and _SAFE_ID.match(found.group(1)) else None


class _StampedRecords:
    """Log record factory that stamps the bound ids: it reaches every logger and every handler.

    A filter would not: one on a logger misses its children's records, one on a handler misses
    handlers added later (the worker's, Azure Monitor's, a test's).
    """

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self.base = base

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.base(*args, **kwargs)
        request_id, profile_id = _request_id.get(), _profile_id.get()
        record.sds_request_id = request_id
        record.sds_profile_id = profile_id
        text = prefix(request_id, profile_id)
        if record.name == APP_LOGGER or record.name.startswith(APP_LOGGER + "."):
            # Rendered now and inert: one line, whatever the arguments quote.
            try:
                message = inert(record.getMessage(), MAX_LINE)
            except Exception:  # noqa: BLE001 - a bad format is the handler's to report, as before
                message = None
            if message is not None:
                record.msg, record.args = (f"{text} {message}" if text else message), ()
            elif text:
                record.msg = f"{text} {record.msg}"
        elif text:
            record.msg = f"{text} {record.msg}"
        return record


def _install_log_context() -> None:
    # Once: a factory installed after ours (wrapping it) must not make us wrap again.
    global _installed
    if not _installed:
        logging.setLogRecordFactory(_StampedRecords(logging.getLogRecordFactory()))
        _installed = True


def quiet_azure_sdks(env: Mapping[str, str] | None = None) -> int:
    """The Azure SDK loggers at SDS_AZURE_SDK_LOG_LEVEL (default WARNING); the level set."""
    raw = (os.environ if env is None else env).get(SDK_LOG_LEVEL_SETTING, "").strip().upper()
    level = raw if raw in SDK_LOG_LEVELS else "WARNING"
    for name in AZURE_SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    if raw and raw not in SDK_LOG_LEVELS:
        _LOG.warning("%s=%r is not one of %s: WARNING is used", SDK_LOG_LEVEL_SETTING, raw, ", ".join(SDK_LOG_LEVELS))
    return logging.getLevelName(level)


def _start_exporting(connection_string: str, options: Mapping[str, Any]) -> _Exporting:
    from azure.monitor.opentelemetry import configure_azure_monitor
    from opentelemetry import metrics, trace

    configure_azure_monitor(
        connection_string=connection_string,
        # The host already sends every log line to Application Insights: exporting them doubles them.
        disable_logging=True,
        enable_live_metrics=False,
        enable_performance_counters=False,
        **options,
    )
    meter = metrics.get_meter(INSTRUMENTATION_NAME)
    return _Exporting(
        tracer=trace.get_tracer(INSTRUMENTATION_NAME),
        verification_seconds=meter.create_histogram(
            "sds.verification.duration", unit="s", description="Time to verify a profile's files"
        ),
        rows_verified=meter.create_counter(
            "sds.verification.rows", unit="{row}", description="Data rows read by verifications"
        ),
        records_applied=meter.create_counter(
            "sds.sync.records_applied", unit="{record}", description="Sync steps applied"
        ),
        queue_age_seconds=meter.create_histogram(
            "sds.sync.queue_age", unit="s", description="Age of a sync message when picked up"
        ),
    )


def configure(env: Mapping[str, str] | None = None, **distro_options: Any) -> bool:
    """Install the log context, and export when a connection string is set (once per process).

    Returns whether traces and metrics are exported. `distro_options` go to
    configure_azure_monitor (tests add in-memory readers); a failure to start exporting is logged
    and leaves the app running without it.
    """
    global _configured, _exporting
    with _lock:
        _install_log_context()
        if _configured:
            return _exporting is not None
        _configured = True
        quiet_azure_sdks(env)
        connection_string = (os.environ if env is None else env).get(CONNECTION_SETTING, "").strip()
        if connection_string:
            try:
                _exporting = _start_exporting(connection_string, distro_options)
            except Exception as error:  # noqa: BLE001 - telemetry must never stop the app
                _LOG.warning(
                    "Application Insights export is off: %s: %s", type(error).__name__, error
                )
        return _exporting is not None


def exporting() -> bool:
    """Whether traces and metrics go to Application Insights."""
    return _exporting is not None


@contextmanager
def operation(
    name: str,
    *,
    request_id: str | None = None,
    profile_id: str | None = None,
    **attributes: str,
) -> Iterator[None]:
    """Within: log lines carry these ids (or the enclosing ones) and, when exporting, a span is open.

    The ids are restored on exit, so a pooled worker thread never lends them to the next call.
    """
    configure()
    request_token = _request_id.set(_safe(request_id) or _request_id.get())
    profile_token = _profile_id.set(_safe(profile_id) or _profile_id.get())
    try:
        with _span(name, attributes):
            yield
    finally:
        _profile_id.reset(profile_token)
        _request_id.reset(request_token)


def bind_profile(profile_id: str) -> None:
    """From here to the end of the enclosing operation, log lines carry this profile id."""
    if _safe(profile_id):
        _profile_id.set(profile_id)


def _safe(value: str | None) -> str | None:
    return value if value and _SAFE_ID.match(value) else None


def _span(name: str, attributes: Mapping[str, str]) -> Any:
    if _exporting is None:
        return nullcontext()
    ids = {"sds.request_id": _request_id.get(), "sds.profile_id": _profile_id.get()}
    return _exporting.tracer.start_as_current_span(
        name, attributes={**{k: v for k, v in ids.items() if v}, **attributes}
    )


def record_verification(seconds: float, rows: int) -> None:
    """One verification: how long it took and how many data rows it read."""
    if _exporting is not None:
        _exporting.verification_seconds.record(seconds)
        _exporting.rows_verified.add(rows)


def record_sync_applied(records: int) -> None:
    """Sync steps (adds, updates, deactivations, removals) applied by one delivery."""
    if _exporting is not None and records > 0:
        _exporting.records_applied.add(records)


def record_queue_age(inserted: datetime | None, now: datetime | None = None) -> None:
    """How long a sync message waited in its queue (naive times are UTC)."""
    if _exporting is None or inserted is None:
        return
    if inserted.tzinfo is None:
        inserted = inserted.replace(tzinfo=UTC)
    age = ((now or datetime.now(UTC)) - inserted).total_seconds()
    _exporting.queue_age_seconds.record(max(age, 0.0))
