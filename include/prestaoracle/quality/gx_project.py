"""Great Expectations, the file project way: one context per project directory and process, suites built from
``rules`` at run time (``add_or_update``, once per process), one checkpoint per check, and Data Docs built once
per entity run for its results (older results pruned, see ``update_data_docs``).

GX is imported inside these functions only, so importing ``prestaoracle.quality`` stays cheap for DAG parsing.

The project (``great_expectations/`` at the repository root, or ``$PRESTAORACLE_GX_ROOT``) declares two data
sources in ``great_expectations.yml``, committed with every asset the suites use, so a run never rewrites it:

* ``prestaoracle_frames`` (pandas): one DataFrame asset per frame check; the batch is passed at run time;
* ``prestaoracle_staging`` (SQL): one query asset per table check, over the staging database whose URL GX reads
  from the ``PRESTAORACLE_GX_STAGING_URL`` environment variable (set here, in this process, for the duration of a
  run), so no URL or password is ever written into the project.

GX is not thread-safe and the project is shared by the tasks of a worker: runs hold a lock in the process and an
``flock`` on ``uncommitted/.prestaoracle.lock`` across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rules import Check, Entity

FRAMES_DATASOURCE = "prestaoracle_frames"
STAGING_DATASOURCE = "prestaoracle_staging"
STAGING_URL_VARIABLE = "PRESTAORACLE_GX_STAGING_URL"
BATCH_DEFINITION = "pending"
ROOT_VARIABLE = "PRESTAORACLE_GX_ROOT"
DATA_DOCS_SITE = "local_site"
KEEP_RUNS_VARIABLE = "PRESTAORACLE_GX_KEEP_RUNS"
DEFAULT_KEEP_RUNS = 50

_process_lock = threading.RLock()
_contexts: dict[Path, Any] = {}
_checkpoints: dict[tuple[str, str], Any] = {}


def default_root() -> Path:
    """``$PRESTAORACLE_GX_ROOT``, else the repository's ``great_expectations/``, else ``./great_expectations``."""
    if os.environ.get(ROOT_VARIABLE):
        return Path(os.environ[ROOT_VARIABLE])
    repo = Path(__file__).resolve().parents[3] / "great_expectations"
    if (repo / "great_expectations.yml").exists():
        return repo
    return Path.cwd() / "great_expectations"


def get_context(root: Path | str | None = None) -> Any:
    """The file data context of ``root`` (created there when missing), one per directory and process."""
    path = Path(root or default_root()).resolve()
    with _process_lock:
        context = _contexts.get(path)
        if context is None:
            import great_expectations as gx

            # One generic SQL data source serves SQLite and PostgreSQL staging alike (its URL comes at run time).
            warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
            context = gx.get_context(mode="file", context_root_dir=str(path))
            _quiet(context)
            _contexts[path] = context
        return context


def _quiet(context: Any) -> None:
    """No progress bars: in a task log they are hundreds of lines per check (saved once, in a new project)."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    bars = context.variables.progress_bars
    if isinstance(bars, dict):
        bars = ProgressBarsConfig(**bars)
    if bars is None or bars.globally or bars.metric_calculations:
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.save()


def data_docs_index(context: Any) -> Path:
    return Path(context.root_directory) / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


@contextlib.contextmanager
def project_lock(context: Any, staging_url: str | None = None) -> Iterator[None]:
    """Hold the project for one run (see the module docstring); with ``staging_url``, point the SQL data source
    at that database meanwhile."""
    lock_path = Path(context.root_directory) / "uncommitted" / ".prestaoracle.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with _process_lock, open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        previous = os.environ.get(STAGING_URL_VARIABLE)
        try:
            if staging_url is not None:
                os.environ[STAGING_URL_VARIABLE] = staging_url
            yield
        finally:
            if staging_url is not None:
                if previous is None:
                    os.environ.pop(STAGING_URL_VARIABLE, None)
                else:
                    os.environ[STAGING_URL_VARIABLE] = previous
            fcntl.flock(handle, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------------------ data sources and assets


def asset_name(entity: Entity, check: Check) -> str:
    return entity.suite_name(check)


def ensure_assets(context: Any, entities: list[Entity] | tuple[Entity, ...], *, remove_others: bool = False) -> bool:
    """Declare the data sources and every asset of ``entities`` that is missing or out of date (and with
    ``remove_others``, drop the assets no check uses any more); returns whether the project configuration changed
    (a committed project already has them all)."""
    changed = False
    frames = _datasource(context, FRAMES_DATASOURCE, "pandas")
    staging = _datasource(context, STAGING_DATASOURCE, "sql")
    if remove_others:
        used = {asset_name(e, c) for e in entities for c in e.checks}
        for source in (frames, staging):
            for name in [a.name for a in source.assets if a.name not in used]:
                source.delete_asset(name)
                changed = True
    for entity in entities:
        for check in entity.checks:
            name = asset_name(entity, check)
            if check.kind == "frame":
                source = frames
                asset = _asset(source, name)
                if asset is None:
                    asset = source.add_dataframe_asset(name)
                    changed = True
                if _batch_definition(asset) is None:
                    asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
                    changed = True
            else:
                source = staging
                query = _query_text(check)
                asset = _asset(source, name)
                if asset is not None and asset.query != query:
                    source.delete_asset(name)
                    asset = None
                if asset is None:
                    asset = source.add_query_asset(name, query=query)
                    changed = True
                if _batch_definition(asset) is None:
                    asset.add_batch_definition_whole_table(BATCH_DEFINITION)
                    changed = True
    return changed


def _query_text(check: Check) -> str:
    return " ".join((check.query or "").split())


def _datasource(context: Any, name: str, kind: str) -> Any:
    try:
        return context.data_sources.get(name)
    except KeyError:
        pass
    if kind == "pandas":
        return context.data_sources.add_pandas(name)
    return context.data_sources.add_sql(name, connection_string="${" + STAGING_URL_VARIABLE + "}")


def _asset(source: Any, name: str) -> Any:
    try:
        return source.get_asset(name)
    except LookupError:
        return None


def _batch_definition(asset: Any) -> Any:
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return None


# ------------------------------------------------------------------------------------------ suites and runs


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str
    expectation: str
    column: str
    success: bool
    element_count: int
    unexpected_count: int
    unexpected: list[dict[str, Any]]
    """One dict per unexpected row: the check's index columns and the checked column(s), as plain values."""


@dataclass
class CheckOutcome:
    check: str
    kind: str
    suite: str
    rows: int
    expectations: list[ExpectationOutcome]
    result_id: Any = field(repr=False, compare=False)
    """GX's ValidationResultIdentifier of the stored result."""
    data_docs_page: str | None = None


class QualityCheckError(RuntimeError):
    """A suite could not be evaluated (a rule names a missing column, the database failed…): nothing was marked."""


def build_suite(context: Any, entity: Entity, check: Check) -> Any:
    import great_expectations as gx

    expectations = []
    for rule in check.rules:
        cls = getattr(gx.expectations, rule.expectation)
        expectations.append(cls(**dict(rule.kwargs), meta={"rule": rule.name, "reason_class": rule.reason_class},
                                notes=f"{rule.problem}. How to fix: {rule.how_to_fix}."))
    suite = gx.ExpectationSuite(name=entity.suite_name(check), expectations=expectations,
                                meta={"entity": entity.name, "source": entity.source, "check": check.name,
                                      "built_by": "prestaoracle.quality (suites are code: edit the suites_*.py "
                                                  "modules, not this file)"})
    return context.suites.add_or_update(suite)


def run_check(context: Any, entity: Entity, check: Check, *, run_id: str, frame: Any = None) -> CheckOutcome:
    """Run one check's checkpoint: GX evaluates every rule and stores the result (pages: update_data_docs)."""
    from great_expectations.core.run_identifier import RunIdentifier


    checkpoint = _checkpoint(context, entity, check)
    parameters = {"dataframe": frame} if check.kind == "frame" else None
    result = checkpoint.run(batch_parameters=parameters, run_id=RunIdentifier(run_name=run_id))
    ((identifier, validation),) = result.run_results.items()
    return _outcome(entity, check, identifier, validation)


def _checkpoint(context: Any, entity: Entity, check: Check) -> Any:
    """The check's checkpoint, with its suite and validation definition saved from the code once per process."""
    import great_expectations as gx

    name = entity.suite_name(check)
    cache_key = (context.root_directory, name)
    cached = _checkpoints.get(cache_key)
    if cached is not None:
        return cached
    source = context.data_sources.get(FRAMES_DATASOURCE if check.kind == "frame" else STAGING_DATASOURCE)
    batch_definition = source.get_asset(asset_name(entity, check)).get_batch_definition(BATCH_DEFINITION)
    suite = build_suite(context, entity, check)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    result_format: dict[str, Any] = {
        "result_format": "COMPLETE", "unexpected_index_column_names": list(check.index),
        "return_unexpected_index_query": False,
    }
    if check.kind == "table":
        # On SQL, GX returns at most partial_unexpected_count unexpected rows, even in COMPLETE: ask for all.
        result_format["partial_unexpected_count"] = 1_000_000_000
    # No UpdateDataDocsAction here: it rebuilds the site index after every check (seconds each); the gate
    # builds the pages of all its checks and the index once per entity run (update_data_docs).
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[definition], result_format=result_format, actions=[]))
    _checkpoints[cache_key] = checkpoint
    return checkpoint


def update_data_docs(context: Any, outcomes: list[CheckOutcome], *, keep_runs: int | None = None) -> Path:
    """Render the pages of this run's validation results and rebuild the index once; older results beyond
    ``keep_runs`` per suite (``$PRESTAORACLE_GX_KEEP_RUNS``, default 50) are removed first, pages included, so
    the index (which GX rebuilds from every stored result) does not grow without end."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    keep = keep_runs if keep_runs is not None else int(os.environ.get(KEEP_RUNS_VARIABLE, DEFAULT_KEEP_RUNS))
    prune_results(context, {o.suite for o in outcomes}, keep)
    identifiers: list[Any] = []
    for outcome in outcomes:
        identifiers += [outcome.result_id, ExpectationSuiteIdentifier(name=outcome.suite)]
    context.build_data_docs(site_names=[DATA_DOCS_SITE], resource_identifiers=identifiers)
    pages = {}
    for outcome in outcomes:
        urls = context.get_docs_sites_urls(resource_identifier=outcome.result_id, site_names=[DATA_DOCS_SITE])
        pages[outcome.suite] = urls[0]["site_url"] if urls else None
    for outcome in outcomes:
        outcome.data_docs_page = pages[outcome.suite]
    return data_docs_index(context)


def prune_results(context: Any, suites: set[str], keep: int) -> int:
    """Remove the stored validation results (and their Data Docs pages) of ``suites`` beyond the newest ``keep``
    runs each; returns how many were removed."""
    store = context.validation_results_store
    by_suite: dict[str, list[Any]] = {}
    for key in store.list_keys():
        suite = key.expectation_suite_identifier.name
        if suite in suites:
            by_suite.setdefault(suite, []).append(key)
    removed = 0
    pages = Path(context.root_directory) / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "validations"
    for keys in by_suite.values():
        keys.sort(key=lambda k: (k.run_id.run_time, k.run_id.run_name or ""))
        for key in keys[:max(0, len(keys) - keep)]:
            store.remove_key(key)
            page = pages.joinpath(*key.to_tuple()[:-1], f"{key.to_tuple()[-1]}.html")
            page.unlink(missing_ok=True)
            for folder in (page.parent, page.parent.parent):  # <run_time>/ then <run_name>/, when emptied
                with contextlib.suppress(OSError):
                    folder.rmdir()
            removed += 1
    return removed


def _outcome(entity: Entity, check: Check, identifier: Any, validation: Any) -> CheckOutcome:
    rules = {r.name: r for r in check.rules}
    outcomes: list[ExpectationOutcome] = []
    rows = 0
    failed: list[str] = []
    for item in validation.results:
        config = item.expectation_config
        rule = rules[config.meta["rule"]]
        error = _raised(item.exception_info)
        result = item.result or {}
        if error is None and not item.success and "unexpected_count" not in result:
            error = "GX gave no unexpected rows for a failed expectation"
        if error is not None:
            failed.append(f"{rule.name}: {error}")
            continue
        count = int(result.get("element_count") or 0)
        rows = max(rows, count)
        unexpected = [{k: _plain(v) for k, v in entry.items()} for entry in result.get("unexpected_index_list") or []]
        outcomes.append(ExpectationOutcome(
            rule=rule.name, expectation=config.type, column=", ".join(rule.columns), success=bool(item.success),
            element_count=count, unexpected_count=int(result.get("unexpected_count") or 0), unexpected=unexpected))
        if not item.success and len(unexpected) < int(result.get("unexpected_count") or 0):
            failed.append(f"{rule.name}: GX reported {result.get('unexpected_count')} unexpected rows but named "
                          f"{len(unexpected)}")
    if failed:
        raise QualityCheckError(f"suite {entity.suite_name(check)} could not be evaluated, so no row was marked: "
                                + "; ".join(failed))
    return CheckOutcome(check=check.name, kind=check.kind, suite=entity.suite_name(check), rows=rows,
                        expectations=outcomes, result_id=identifier)


def _raised(info: Any) -> str | None:
    """The error message when GX could not evaluate an expectation: GX puts it at the top of ``exception_info``
    or, when a metric failed, under each metric's id."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return "; ".join(str(v.get("exception_message")) for v in nested) or None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
