"""E-mail alerts: the on-call mail when a task or a DAG run has finally failed, and one business digest per run.

* :func:`task_failure_notifier` / :func:`dag_failure_notifier` give an ``SmtpNotifier`` for ``on_failure_callback``.
  Airflow calls a task's ``on_failure_callback`` only when no retry is left (a failed try with retries left calls
  ``on_retry_callback``, which the product does not use), so on-call gets one mail per real failure, not one per try.
  The mail says what failed and where to look (log URL, run id, ``dag_run.run_after``: never ``ds`` or
  ``logical_date``, which runs triggered through the REST API do not have, and an undefined template variable would
  silently cost the mail). DAG-level callbacks run in the dag-processor; ``dag.test()`` does not run them for the
  provider's notifier (apache/airflow#64649), see docs/alerts.md.
* :func:`send_business_digest` mails the orders Oracle refused (or the flow gave up on) for a business reason, one
  mail per run, and always saves the same page under the reports directory.

Every text that reaches a mail goes through ``prestaoracle.secrets`` and Airflow's secrets masker first. Templates
are Jinja2 files in ``alerts_templates/`` (HTML auto-escaped). Recipients come from the order flow's configuration
(``alerts.on_call``, ``alerts.business``; env ``PRESTAORACLE_ONCALL_EMAIL`` / ``PRESTAORACLE_BUSINESS_EMAIL`` win).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.notifications.smtp import SmtpNotifier

from prestaoracle import reasons
from prestaoracle.secrets import scrub_text
from prestaoracle.settings import reports_dir

__all__ = ["DIGEST_FIELDS", "DigestNotSent", "DigestResult", "ProductNotifier", "business_recipients",
           "dag_failure_notifier", "on_call_recipients", "send_business_digest", "task_failure_notifier"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("alerts_templates")
DIGEST_FIELDS = ("key", "id_order", "reference", "reason_class", "message", "how_to_fix")
"""What each digest row carries (``key`` is the idempotency key ``PS1-42``, see ``flows.orders.types.order_ref``)."""
MAX_ERROR_CHARS = 4000
"""An exception text longer than this is cut in the mail (the task log has all of it)."""
DOCS = "docs/alerts.md"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    # Every name a template uses is in the view we build: a typo must fail the tests, not blank a field.
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


class DigestNotSent(RuntimeError):
    """The SMTP server could not take the digest: the task fails so that Airflow retries it (the page is saved)."""


@dataclass(frozen=True)
class DigestResult:
    """What :func:`send_business_digest` did: the saved page, whether a mail went and to whom."""

    path: Path
    sent: bool
    recipients: tuple[str, ...]
    count: int


# ------------------------------------------------------------------------------------------------ recipients


def _addresses(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return tuple(v.strip() for v in value if v and v.strip())


def on_call_recipients() -> tuple[str, ...]:
    """Who gets failure mails: ``PRESTAORACLE_ONCALL_EMAIL`` or ``alerts.on_call`` of the order flow configuration."""
    from prestaoracle.flows.orders.config import load_config

    return load_config().alerts.on_call


def business_recipients() -> tuple[str, ...]:
    """Who gets the digest: ``PRESTAORACLE_BUSINESS_EMAIL`` or ``alerts.business`` of the order flow configuration."""
    from prestaoracle.flows.orders.config import load_config

    return load_config().alerts.business


def _default_conn_id() -> str:
    from prestaoracle.flows.orders.config import load_config

    return load_config().alerts.smtp_conn_id


# ------------------------------------------------------------------------------------------------ clean text


def clean_text(value: Any, limit: int = MAX_ERROR_CHARS) -> str:
    """``value`` as text fit for a mail: secrets Airflow knows in this process (connection passwords a task
    fetched) and anything ``prestaoracle.secrets`` recognises (``password=…``, bearer tokens, ``user:pw@``) masked,
    then cut to ``limit`` characters."""
    text = "" if value is None else str(value)
    try:
        from airflow.sdk.log import redact

        text = str(redact(text))
    except Exception:  # the masker is a second net; the patterns below always apply
        pass
    text = scrub_text(text)
    return text if len(text) <= limit else text[:limit] + " … (cut; the task log has the whole text)"


def _render(name: str, view: Mapping[str, Any]) -> str:
    return _ENV.get_template(name).render(**view)


def _subject(name: str, view: Mapping[str, Any]) -> str:
    return " ".join(_render(name, view).split())


def _common_view() -> dict[str, Any]:
    return {"reports_dir": str(reports_dir()), "docs": DOCS}


# ------------------------------------------------------------------------------------------------ notifiers


def _attr(obj: Any, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # a lazy property of a half-built context object must not cost the mail
        return None


def _plain(value: Any) -> Any:
    """``DagRunType.MANUAL`` → ``manual`` (the task context has the enum, the dag-processor's a string)."""
    return getattr(value, "value", value)


def _when(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def failure_view(context: Mapping[str, Any]) -> dict[str, Any]:
    """The names the failure templates use, read defensively from a task or DAG callback context: the
    dag-processor's context for a DAG callback may have no ``ti`` or ``dag_run`` at all."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    exception = context.get("exception")
    error = None
    if exception is not None:
        error = clean_text(f"{type(exception).__name__}: {exception}" if isinstance(exception, BaseException)
                           else exception)
    view = {
        "dag_id": _attr(ti, "dag_id") or _attr(dag_run, "dag_id") or _attr(dag, "dag_id") or "?",
        "task_id": _attr(ti, "task_id"),
        "map_index": _attr(ti, "map_index"),
        "run_id": context.get("run_id") or _attr(dag_run, "run_id") or _attr(ti, "run_id") or "?",
        "run_type": _plain(_attr(dag_run, "run_type")),
        "run_after": _when(_attr(dag_run, "run_after")),
        "try_number": _attr(ti, "try_number"),
        "max_tries": _attr(ti, "max_tries"),
        "hostname": _attr(ti, "hostname"),
        "log_url": _attr(ti, "log_url") if ti is not None else None,
        "error": error,
        "reason": clean_text(context.get("reason")) if context.get("reason") else None,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    view.update(_common_view())
    return view


class ProductNotifier(SmtpNotifier):
    """``SmtpNotifier`` whose subject and body come from the package's templates, rendered from a scrubbed view of
    the callback context (:func:`failure_view`) instead of the context itself.

    Rendering happens afresh on every call from the template files, so one notifier shared by many tasks
    (``default_args``) never reuses a previous task's text; and it needs no DAG template environment, which the
    provider's notifier takes from the DAG (the cause of apache/airflow#64649 under ``dag.test()``).
    """

    def __init__(self, kind: str, to: Sequence[str] | None, *, smtp_conn_id: str | None, **kwargs: Any) -> None:
        # Recipients and connection left None are read from the configuration when a mail is sent, not when the
        # DAG file is parsed: parsing stays light and a changed configuration applies without a redeploy.
        super().__init__(to=list(to or ()), smtp_conn_id=smtp_conn_id or "smtp_default", **kwargs)
        self.kind = kind
        self._configured_to = to is None
        self._configured_conn = smtp_conn_id is None

    def render_template_fields(self, context: Any, jinja_env: jinja2.Environment | None = None) -> None:
        view = failure_view(context)
        self.subject = _subject(f"{self.kind}_subject.txt.j2", view)
        self.html_content = _render(f"{self.kind}.html.j2", view)

    def notify(self, context: Any) -> None:
        if self._configured_to:
            self.to = list(on_call_recipients())
        if self._configured_conn:
            self.smtp_conn_id = _default_conn_id()
        if not self.to:
            raise ValueError("no on-call recipients for the failure mail: set PRESTAORACLE_ONCALL_EMAIL or "
                             "alerts.on_call in the order flow configuration (PRESTAORACLE_ORDER_CONFIG)")
        with SmtpHook(smtp_conn_id=self.smtp_conn_id, auth_type=self.auth_type) as hook:
            from_email = self.from_email or hook.from_email
            if not from_email:
                raise ValueError(f"the {self.smtp_conn_id} connection has no from_email: add "
                                 '"from_email": "airflow@your-domain" to its extra (docs/alerts.md)')
            hook.send_email_smtp(to=self.to, from_email=from_email, subject=self.subject,
                                 html_content=self.html_content, cc=self.cc, bcc=self.bcc,
                                 mime_subtype=self.mime_subtype, mime_charset=self.mime_charset,
                                 custom_headers=self.custom_headers)


def task_failure_notifier(to: Sequence[str] | None = None, *, smtp_conn_id: str | None = None) -> SmtpNotifier:
    """For a task's ``on_failure_callback``: one mail to on-call when the task has failed for good.

    Do not use it for ``on_retry_callback``: a try that Airflow will retry is not an incident.
    """
    return ProductNotifier("task_failure", None if to is None else _addresses(to), smtp_conn_id=smtp_conn_id)


def dag_failure_notifier(to: Sequence[str] | None = None, *, smtp_conn_id: str | None = None) -> SmtpNotifier:
    """For a DAG's ``on_failure_callback``: one mail to on-call when a run has failed. It runs in the dag-processor
    (so that process needs the SMTP connection too); see docs/alerts.md about ``dag.test()``."""
    return ProductNotifier("dag_failure", None if to is None else _addresses(to), smtp_conn_id=smtp_conn_id)


# ------------------------------------------------------------------------------------------------ digest


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


# The digest's reader acts on policy refusals first, then on missing master data.
_DIGEST_ORDER = (reasons.BUSINESS_RULE, reasons.MAPPING_MISSING, reasons.INVALID_DATA, reasons.DUPLICATE,
                 reasons.RETRYABLE)


def _rows(rejections: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    order = {c: i for i, c in enumerate(_DIGEST_ORDER)}
    rows = [{f: clean_text(r.get(f)) if r.get(f) is not None else "" for f in DIGEST_FIELDS} for r in rejections]
    return sorted(rows, key=lambda r: (order.get(r["reason_class"], len(order)), r["reason_class"],
                                       _natural(r["key"])))


def _natural(key: str) -> tuple[Any, ...]:
    """``PS1-9`` before ``PS1-10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", key))


def send_business_digest(rejections: Sequence[Mapping[str, Any]], *, run_id: str, flow: str,
                         to: Sequence[str] | None = None, smtp_conn_id: str | None = None,
                         report_dir: Path | None = None) -> DigestResult:
    """Mail the run's refused orders to the business recipients, once, and save the page as
    ``<report_dir>/<flow>-digest-<run id>.html`` (whatever happens to the mail).

    Each row of ``rejections`` has ``DIGEST_FIELDS``. Nothing is mailed when it is empty or nobody is configured;
    with no SMTP connection a warning says how to add one. A server that cannot be reached raises
    :class:`DigestNotSent`, so the task fails and Airflow retries it rather than the digest vanishing.
    """
    rows = _rows(rejections)
    recipients = _addresses(to) if to is not None else business_recipients()
    conn_id = smtp_conn_id or _default_conn_id()
    by_class = Counter(r["reason_class"] or "unknown" for r in rows)
    directory = Path(report_dir) if report_dir is not None else reports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    view = {"docs": DOCS, "reports_dir": str(directory), "flow": flow, "run_id": run_id, "rows": rows,
            "count": len(rows), "by_class": sorted(by_class.items(), key=lambda kv: (-kv[1], kv[0])),
            "recipients": recipients, "sent_at": datetime.now(UTC).isoformat(timespec="seconds")}
    html = _render("digest.html.j2", view)
    path = directory / f"{flow}-digest-{_safe(run_id)}.html"
    path.write_text(html, encoding="utf-8")
    result = DigestResult(path=path, sent=False, recipients=recipients, count=len(rows))
    if not rows:
        log.info("business digest for %s run %s: nothing refused, no mail (page: %s)", flow, run_id, path)
        return result
    if not recipients:
        log.warning("business digest for %s run %s: %d order(s) refused but nobody to tell; set "
                    "PRESTAORACLE_BUSINESS_EMAIL or alerts.business (PRESTAORACLE_ORDER_CONFIG). Page: %s",
                    flow, run_id, len(rows), path)
        return result
    if not _connection_exists(conn_id):
        log.warning("business digest for %s run %s not mailed: no %r connection. Add it (Airflow UI → Connections, "
                    "or env AIRFLOW_CONN_%s as JSON with host, port and extra from_email; for a server without "
                    "TLS also \"disable_ssl\": true, \"disable_tls\": true; see %s). Page: %s",
                    flow, run_id, conn_id, conn_id.upper(), DOCS, path)
        return result
    subject = _subject("digest_subject.txt.j2", view)
    try:
        with _DigestSmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(to=list(recipients), subject=subject, html_content=html)
    except Exception as exc:  # refused, timeout, TLS, auth, no from_email: all mean "not sent"
        raise DigestNotSent(
            f"business digest for {flow} run {run_id} not sent through the {conn_id} connection: "
            f"{clean_text(f'{type(exc).__name__}: {exc}')}. It is saved at {path}. Check that the SMTP server is up "
            f"and the connection's host, port and TLS settings ({DOCS}); the task fails so that Airflow retries it."
        ) from exc
    log.info("business digest for %s run %s: %d order(s) mailed to %s (page: %s)", flow, run_id, len(rows),
             ", ".join(recipients), path)
    return DigestResult(path=path, sent=True, recipients=recipients, count=len(rows))


class _DigestSmtpHook(SmtpHook):
    """``SmtpHook`` that also finds a connection stored in the metadata database when it runs outside a task (the
    CLI), where the Task SDK it uses by default reads only the environment and secrets backends (as
    ``prestaoracle.connections.get`` does for the other connections; docs/connections.md)."""

    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        from prestaoracle.connections import _in_task

        if _in_task():
            return super().get_connection(conn_id)
        from airflow.models.connection import Connection

        return Connection.get_connection_from_secrets(conn_id)


def _connection_exists(conn_id: str) -> bool:
    """Whether Airflow can find ``conn_id`` here. Any other lookup error is left to the send, which reports it."""
    try:
        _DigestSmtpHook.get_connection(conn_id)
    except Exception as exc:
        # The Task SDK and the core model each raise their own AirflowNotFoundException class.
        if type(exc).__name__ == "AirflowNotFoundException":
            return False
        raise
    return True
