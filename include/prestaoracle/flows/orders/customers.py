"""Which Oracle account an order is booked against: bind each shop customer to its account before orders are mapped.

The order mappings read the binder (staging table ``xref``): Fusion's ``BuyingPartyNumber`` is the ``customer``
binding (shop ``id_customer`` -> ``PartyNumber``), EBS's ``sold_to_org_id`` the ``ebs_customer`` binding
(-> ``CUST_ACCOUNT_ID``); a customer without one is booked against the catch-all web-shop account of the delivery
country and currency. :func:`resolve_customers` fills those bindings for the customers of a batch of orders, by the
operator's ``customers.mode`` (``flows/orders/config.default.yaml``):

``match``
    1. **reference**: the account carrying the shop's own id (Fusion ``SourceSystem`` = the mapping's
       ``defaults.source_system`` and ``SourceSystemReferenceValue`` = id_customer; EBS ``ORIG_SYSTEM_REFERENCE`` =
       ``PRESTASHOP-<id_customer>``, what an earlier sync wrote). Bound whatever its status: it *is* the customer's
       account, so an inactive one is bound too and Oracle refuses the order for a business reason the operator sees
       (reactivate the account, or rebind the customer) instead of the order silently landing on the web-shop account.
    2. **email**: else the only *active* account whose e-mail, trimmed and case-folded, equals the shop customer's.
       Accounts carrying another shop customer's reference, or bound to another customer, are that customer's and do
       not count. Several candidates (or one account wanted by several shop customers of the batch) -> **ambiguous**:
       nothing is bound and the orders go to the web-shop account until someone binds the right one. Only inactive
       accounts with the e-mail -> nothing is bound (an e-mail is weaker evidence than the reference: a closed or
       merged account must not make every order of the customer fail).
    3. else **webshop**: nothing is bound; the mapping's catch-all applies.
``create`` (Fusion only)
    like ``match``; a customer no account has at all (no reference, no e-mail, not ambiguous) gets one, created
    through the ``fusion_account`` mapping spec exactly once: ledger target ``oracle_fusion_account`` keyed by
    id_customer, claimed before the POST; the batch's reference lookup is the look-up before the create, and after
    an uncertain POST (timeout, 5xx, no answer) the reference is looked up again before any new POST. A create
    still unsettled when the retry budget is spent is decided **failed** (``retryable``): the order flow should hold
    those customers' orders for the next run rather than book them against the web-shop account.
``webshop``
    nothing is bound.

An existing binding always wins (the operator's, or an earlier run's): those customers are reported as ``kept`` and
not looked up. Look-ups are batched: Fusion ``q`` filters with ``in`` lists and OR-ed e-mail patterns (one request
per 100 references and per a few dozen e-mails), EBS one SQL statement per 1,000 customers, so a run of 500 orders
needs a handful of requests.

EBS catch-all accounts: each run also reads the active EBS accounts named by the mapping's convention
(``defaults.webshop_account_prefix`` + country [+ currency unless it is the country's home currency, lookups
``home_currency``]) and writes their ids into the ``ebs_webshop_account`` lookup (table ``lookup_values``, key
``FR:EUR``), so the EBS mapping finds them without anyone copying ids by hand, and an account recreated in EBS is
followed at the next run. Pairs in the mapping configuration file and pairs an operator set
(``map --set-lookup``) are never touched: only rows this resolver wrote (note :data:`WEBSHOP_NOTE`) are updated or
removed.

The caller owns the transaction: the claims, bindings and lookup pairs are written on ``conn`` and the caller commits.
Should the process die after an account was created but before the commit, the next run finds that account by its
reference (step 1), so it is still created once.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from more_itertools import batched

from prestaoracle import retry
from prestaoracle.flows.orders.config import OrderFlowConfig
from prestaoracle.mapping import MappingContext, MappingError, binder, lookups, map_record
from prestaoracle.mapping.documents import customer_documents
from prestaoracle.oracle.ebs import EbsClient, EbsCustomer
from prestaoracle.oracle.errors import FusionError
from prestaoracle.oracle.fusion import FusionClient
from prestaoracle.retry import GaveUp
from prestaoracle.staging import ledger
from prestaoracle.staging.schema import lookup_values, ps_customers, xref

__all__ = ["ACCOUNT_TARGET", "EBS_REFERENCE", "RULES", "WEBSHOP_NOTE", "CustomerDecision", "CustomerResolution",
           "resolve_customers"]

log = logging.getLogger(__name__)

RULES: tuple[str, ...] = ("reference", "email", "created", "ambiguous", "webshop", "failed")
"""How a customer was decided: bound by its reference, by its e-mail, to an account created for it; or not bound
because several accounts fit, because none does (web-shop account), or because its account creation is unsettled."""
ACCOUNT_TARGET = "oracle_fusion_account"
"""Ledger ``target`` of the Fusion accounts ``create`` mode makes; the ``record_key`` is the shop id_customer."""
EBS_REFERENCE = "PRESTASHOP-{id_customer}"
"""The ``ORIG_SYSTEM_REFERENCE`` an EBS account of a shop customer carries."""
WEBSHOP_NOTE = "order flow: EBS catch-all account found by name"
"""``lookup_values.note`` of the ``ebs_webshop_account`` pairs this module wrote (and may rewrite)."""
FUSION_ENTITY, EBS_ENTITY = "customer", "ebs_customer"
FUSION_FIELDS = "PartyId,PartyNumber,Status,EmailAddress,SourceSystem,SourceSystemReferenceValue"
_IN_CHUNK = 1000
_NAME = re.compile(r"(?P<country>[A-Z]{2})(?: (?P<currency>[A-Z]{3}))?")


@dataclass(frozen=True)
class CustomerDecision:
    """What became of one shop customer: ``rule`` (one of :data:`RULES`), the Oracle id bound (PartyNumber or
    CUST_ACCOUNT_ID) when one was, and why, in words an operator can act on."""

    id_customer: int
    rule: str
    target_id: str | None = None
    note: str = ""
    reason_class: str | None = None


@dataclass
class CustomerResolution:
    """The outcome of one :func:`resolve_customers` call."""

    target: str
    mode: str
    decisions: list[CustomerDecision] = field(default_factory=list)
    kept: dict[int, str] = field(default_factory=dict)
    """Customers bound before this call (by an operator or an earlier run), left as they were: id -> target id."""
    webshop_accounts: dict[str, str] = field(default_factory=dict)
    """EBS: the ``ebs_webshop_account`` pairs in force after this call (``FR:EUR`` -> CUST_ACCOUNT_ID)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Decisions per rule (every rule present)."""
        out = dict.fromkeys(RULES, 0)
        for d in self.decisions:
            out[d.rule] += 1
        return out

    @property
    def bound(self) -> dict[int, str]:
        """The bindings this call made: id_customer -> target id."""
        return {d.id_customer: d.target_id for d in self.decisions if d.target_id is not None}

    @property
    def failed(self) -> list[int]:
        """Customers whose account creation is unsettled: hold their orders until the next run."""
        return [d.id_customer for d in self.decisions if d.rule == "failed"]

    def decision(self, id_customer: int) -> CustomerDecision | None:
        return next((d for d in self.decisions if d.id_customer == int(id_customer)), None)


@dataclass(frozen=True)
class _Account:
    """An Oracle account as the matcher sees it, whichever Oracle it comes from."""

    target_id: str
    label: str
    active: bool
    email: str | None
    shop_ref: str | None  # the id_customer it carries as the shop's reference, if any


def _norm(email: Any) -> str | None:
    text = str(email or "").strip().casefold()
    return text or None


def _mapping_context(mapping: MappingContext | None) -> MappingContext:
    if mapping is not None:
        return mapping
    path = os.environ.get("PRESTAORACLE_MAPPING_CONFIG") or None
    return MappingContext.from_config(path)


# --------------------------------------------------------------------------------------------- the entry point


def resolve_customers(conn: sa.Connection, id_customers: Iterable[int], *, config: OrderFlowConfig,
                      fusion: FusionClient | None = None, ebs: EbsClient | None = None, run_id: str,
                      mapping: MappingContext | None = None, ebs_reference: str = EBS_REFERENCE,
                      account_retries: retry.RetryPolicy | None = None) -> CustomerResolution:
    """Bind the shop customers ``id_customers`` not bound yet to their account in ``config.oracle_target`` by
    ``config.customers.mode`` (module docstring); on EBS also refresh the catch-all accounts' lookup pairs.

    ``mapping`` supplies ``defaults.source_system``, the catch-all naming and the ``fusion_account`` spec's context
    (default: ``$PRESTAORACLE_MAPPING_CONFIG`` or the packaged configuration). ``account_retries`` bounds each
    account create (default: the Fusion client's policy). Writes on ``conn``; the caller commits.
    """
    target, mode = config.oracle_target, config.customers.mode
    if target == "fusion" and mode != "webshop" and fusion is None:
        raise ValueError("resolve_customers: the fusion target in customers.mode "
                         f"{mode!r} needs a FusionClient (fusion=...)")
    if target == "ebs" and ebs is None:
        raise ValueError("resolve_customers: the ebs target needs an EbsClient (ebs=...), also to find the catch-all "
                         "accounts")
    if target == "ebs" and mode == "create":
        raise ValueError("customers.mode create is for Fusion only (EBS accounts are created in EBS); "
                         "write match or webshop in the order-to-cash configuration")
    ctx = _mapping_context(mapping)
    result = CustomerResolution(target=target, mode=mode)
    entity = FUSION_ENTITY if target == "fusion" else EBS_ENTITY
    if target == "ebs":
        assert ebs is not None
        _refresh_ebs_webshop(conn, ebs, ctx, result)

    ids = sorted({int(i) for i in id_customers if i is not None})
    result.kept = _bound(conn, entity, ids)
    todo = [i for i in ids if i not in result.kept]
    where = _webshop_where(target)
    if mode == "webshop" or not todo:
        result.decisions = [CustomerDecision(i, "webshop", note=f"customers.mode webshop: {where}") for i in todo]
        return result

    emails = _shop_emails(conn, todo)
    if target == "fusion":
        assert fusion is not None
        source_system = str(ctx.defaults.get("source_system") or "PSHOP")
        accounts = _fusion_accounts(fusion, source_system, todo, emails)
    else:
        assert ebs is not None
        accounts = _ebs_accounts(ebs, ebs_reference, todo, emails)
    owners = _owners(conn, entity, {a.target_id for a in accounts})
    decisions, unmatched = _match(todo, emails, accounts, owners, where, entity)

    if mode == "create" and unmatched:
        assert fusion is not None
        decisions.update(_create_accounts(conn, fusion, ctx, unmatched, run_id, where,
                                          account_retries or fusion.retries))
    for cid in todo:
        decision = decisions[cid]
        if decision.target_id is not None:
            try:
                binder.bind(conn, entity, cid, decision.target_id, note=decision.rule, run_id=run_id)
            except binder.BindConflict as exc:
                decision = CustomerDecision(cid, "ambiguous", note=f"{exc}; nothing bound: {where}")
        result.decisions.append(decision)
    log.info("customers for %s (%s): %s; %d already bound", target, mode,
             ", ".join(f"{k} {v}" for k, v in result.counts.items() if v), len(result.kept))
    return result


def _webshop_where(target: str) -> str:
    if target == "fusion":
        return "orders go to the web-shop account of the delivery country and currency (BuyingPartyName)"
    return "orders go to the EBS catch-all account of the delivery country and currency (lookup ebs_webshop_account)"


# --------------------------------------------------------------------------------------------- staging reads


def _bound(conn: sa.Connection, entity: str, ids: list[int]) -> dict[int, str]:
    t = xref
    out: dict[int, str] = {}
    for chunk in batched([str(i) for i in ids], _IN_CHUNK):
        query = sa.select(t.c.external_id, t.c.target_id).where(
            t.c.system == "prestashop", t.c.entity == entity, t.c.target == "oracle", t.c.external_id.in_(chunk))
        out.update({int(e): str(v) for e, v in conn.execute(query)})
    return out


def _owners(conn: sa.Connection, entity: str, target_ids: set[str]) -> dict[str, str]:
    """Which shop customer each of ``target_ids`` is already bound to (binder pairs are unique both ways)."""
    t = xref
    out: dict[str, str] = {}
    for chunk in batched(sorted(target_ids), _IN_CHUNK):
        query = sa.select(t.c.target_id, t.c.external_id).where(
            t.c.system == "prestashop", t.c.entity == entity, t.c.target == "oracle", t.c.target_id.in_(chunk))
        out.update({str(v): str(e) for v, e in conn.execute(query)})
    return out


def _shop_emails(conn: sa.Connection, ids: list[int]) -> dict[int, str | None]:
    """Normalised e-mail per staged customer (None: staged without one); customers not staged are absent."""
    t = ps_customers
    out: dict[int, str | None] = {}
    for chunk in batched(ids, _IN_CHUNK):
        for cid, email in conn.execute(sa.select(t.c.id_customer, t.c.email).where(t.c.id_customer.in_(chunk))):
            out[int(cid)] = _norm(email)
    return out


# --------------------------------------------------------------------------------------------- Oracle reads


def _fusion_accounts(fusion: FusionClient, source_system: str, ids: list[int],
                     emails: Mapping[int, str | None]) -> list[_Account]:
    def account(row: Mapping[str, Any]) -> _Account:
        ours = row.get("SourceSystem") == source_system and row.get("SourceSystemReferenceValue") not in (None, "")
        return _Account(str(row["PartyNumber"]), f"party {row['PartyNumber']}", row.get("Status") == "A",
                        _norm(row.get("EmailAddress")), str(row["SourceSystemReferenceValue"]) if ours else None)

    found = {str(r["PartyNumber"]): account(r)
             for r in fusion.accounts_by_reference(source_system, ids, fields=FUSION_FIELDS)}
    # Only customers no account carries the reference of are looked up by e-mail: fewer and shorter requests.
    referenced = {a.shop_ref for a in found.values()}
    wanted = {e for cid, e in emails.items() if e and str(cid) not in referenced}
    if wanted:
        for row in fusion.accounts_by_email(wanted, fields=FUSION_FIELDS):
            found.setdefault(str(row["PartyNumber"]), account(row))
    return list(found.values())


def _ebs_accounts(ebs: EbsClient, reference: str, ids: list[int],
                  emails: Mapping[int, str | None]) -> list[_Account]:
    head, _, tail = reference.partition("{id_customer}")

    def shop_ref(osr: str | None) -> str | None:
        if osr and osr.startswith(head) and osr.endswith(tail):
            middle = osr[len(head):len(osr) - len(tail)]
            return middle if middle.isdigit() else None
        return None

    def account(c: EbsCustomer) -> _Account:
        return _Account(str(c.cust_account_id), f"account {c.cust_account_id} ({c.account_number})",
                        c.account_status == "A", _norm(c.email), shop_ref(c.orig_system_reference))

    rows = ebs.customer_candidates(orig_system_references=[reference.format(id_customer=i) for i in ids],
                                   emails=[e for e in emails.values() if e])
    return [account(c) for c in rows]


# --------------------------------------------------------------------------------------------- matching


def _match(ids: list[int], emails: Mapping[int, str | None], accounts: list[_Account], owners: Mapping[str, str],
           where: str, entity: str) -> tuple[dict[int, CustomerDecision], list[int]]:
    """Decide every customer by reference or e-mail; return the decisions and the customers no account has at all
    (the ones ``create`` mode may create)."""
    by_ref: dict[str, list[_Account]] = defaultdict(list)
    by_email: dict[str, list[_Account]] = defaultdict(list)
    for a in accounts:
        if a.shop_ref is not None:
            by_ref[a.shop_ref].append(a)
        if a.email:
            by_email[a.email].append(a)
    decisions: dict[int, CustomerDecision] = {}
    unmatched: list[int] = []
    wanted_by: dict[str, list[int]] = defaultdict(list)  # account -> customers of the batch it would be bound to

    for cid in ids:
        key = str(cid)
        carrying = by_ref.get(key, [])
        if carrying:
            pick = carrying if len(carrying) == 1 else [a for a in carrying if a.active]
            if len(pick) == 1:
                a = pick[0]
                owner = owners.get(a.target_id)
                if owner not in (None, key):
                    decisions[cid] = CustomerDecision(
                        cid, "ambiguous", note=f"{a.label} carries the shop reference {cid} but is bound to customer "
                        f"{owner}; nothing bound: {where}. Unbind one of them to settle it.")
                    continue
                state = "" if a.active else (" (inactive in Oracle: its orders will be refused until it is "
                                             "reactivated or the customer is bound to another account)")
                decisions[cid] = CustomerDecision(cid, "reference", a.target_id,
                                                  f"{a.label} carries the shop reference{state}")
            else:
                labels = ", ".join(a.label for a in carrying)
                decisions[cid] = CustomerDecision(
                    cid, "ambiguous", note=f"several accounts carry the shop reference ({labels}); nothing bound: "
                    f"{where}. Bind the right one: python -m prestaoracle map --bind {entity} {cid} ID")
            continue
        if cid not in emails:
            decisions[cid] = CustomerDecision(cid, "webshop", note=f"the customer is not staged; {where}")
            continue
        email = emails[cid]
        if email is None:
            decisions[cid] = CustomerDecision(cid, "webshop", note=f"the customer has no e-mail to match; {where}")
            unmatched.append(cid)
            continue
        same = by_email.get(email, [])
        theirs = [a for a in same if (a.shop_ref not in (None, key)) or owners.get(a.target_id) not in (None, key)]
        free = [a for a in same if a not in theirs]
        active = [a for a in free if a.active]
        if len(active) == 1:
            wanted_by[active[0].target_id].append(cid)
            decisions[cid] = CustomerDecision(cid, "email", active[0].target_id,
                                              f"{active[0].label} is the only active account with the same e-mail")
        elif len(active) > 1:
            labels = ", ".join(a.label for a in active)
            decisions[cid] = CustomerDecision(
                cid, "ambiguous", note=f"several active accounts have the same e-mail ({labels}); nothing bound: "
                f"{where}. Bind the right one: python -m prestaoracle map --bind {entity} {cid} ID")
        elif free:
            labels = ", ".join(a.label for a in free)
            decisions[cid] = CustomerDecision(
                cid, "webshop", note=f"only inactive accounts have the same e-mail ({labels}); nothing bound: {where}. "
                "Reactivate the account in Oracle and bind it if it is this customer's.")
        elif theirs:
            labels = ", ".join(a.label for a in theirs)
            decisions[cid] = CustomerDecision(
                cid, "webshop", note=f"the accounts with the same e-mail belong to other shop customers ({labels}); "
                f"nothing bound: {where}")
        else:
            decisions[cid] = CustomerDecision(cid, "webshop", note=f"no Oracle account has the customer's reference "
                                              f"or e-mail; {where}")
            unmatched.append(cid)

    for cids in wanted_by.values():
        if len(cids) > 1:  # one account, several shop customers: a binding is one-to-one, so none of them gets it
            for cid in cids:
                others = ", ".join(str(c) for c in cids if c != cid)
                decisions[cid] = CustomerDecision(
                    cid, "ambiguous", note=f"{decisions[cid].note}, but shop customers {others} have the same "
                    f"e-mail; nothing bound: {where}")
    return decisions, unmatched


# --------------------------------------------------------------------------------------------- create (Fusion)


def _create_accounts(conn: sa.Connection, fusion: FusionClient, ctx: MappingContext, ids: list[int], run_id: str,
                     where: str, policy: retry.RetryPolicy) -> dict[int, CustomerDecision]:
    source_system = str(ctx.defaults.get("source_system") or "PSHOP")
    docs = customer_documents(conn, ids)
    out: dict[int, CustomerDecision] = {}
    for cid in ids:
        doc = docs.get(cid)
        if doc is None:
            continue  # not staged: already decided webshop
        entry = ledger.claim(conn, ACCOUNT_TARGET, cid, run_id, source="prestashop", entity="customers")
        if entry.done and entry.target_id:
            # Created by an earlier run whose account no longer carries the reference: the ledger still knows it.
            out[cid] = CustomerDecision(cid, "created", entry.target_id,
                                        f"party {entry.target_id} was created for the customer by run {entry.run_id}")
            continue
        try:
            payload = map_record("fusion_account", doc, ctx)
        except MappingError as exc:
            ledger.record_outcome(conn, ACCOUNT_TARGET, cid, "rejected", run_id=run_id,
                                  error=f"{exc.reason_class}: {exc.message} ({exc.field})")
            out[cid] = CustomerDecision(cid, "webshop", note=f"no account could be created: {exc.message} "
                                        f"({exc.field}); {exc.how_to_fix} Meanwhile {where}.",
                                        reason_class=exc.reason_class)
            continue
        try:
            row, how = _create_account(fusion, payload, source_system, cid, policy)
        except FusionError as exc:
            if exc.retryable:
                ledger.record_failure(conn, ACCOUNT_TARGET, cid, exc.message, run_id=run_id)
                out[cid] = CustomerDecision(cid, "failed", note=f"account creation unsettled: {exc.message}; the "
                                            "next run looks the reference up before creating it",
                                            reason_class="retryable")
            else:
                ledger.record_outcome(conn, ACCOUNT_TARGET, cid, "rejected", run_id=run_id, error=exc.message)
                out[cid] = CustomerDecision(cid, "webshop", note=f"Oracle refused the account: {exc.message}; {where}",
                                            reason_class=exc.reason_class)
            continue
        party = str(row["PartyNumber"])
        ledger.record_success(conn, ACCOUNT_TARGET, cid, target_id=party, target_ref=str(row.get("PartyId") or ""),
                              outcome="created" if how != "existed" else "skipped", run_id=run_id)
        if how == "existed":
            out[cid] = CustomerDecision(cid, "reference", party, f"party {party} carries the shop reference (Oracle "
                                        "answered the create as a duplicate)")
        else:
            lost = " (its reply was lost; found by its reference)" if how == "recovered" else ""
            out[cid] = CustomerDecision(cid, "created", party, f"party {party} created for the customer{lost}")
    return out


def _lookup(fusion: FusionClient, source_system: str, cid: int) -> dict | None:
    rows = list(fusion.accounts_by_reference(source_system, [cid], fields=FUSION_FIELDS))
    return rows[0] if rows else None


def _create_account(fusion: FusionClient, payload: Mapping[str, Any], source_system: str, cid: int,
                    policy: retry.RetryPolicy) -> tuple[dict, str]:
    """POST one account; after an uncertain POST look its reference up before any new POST. Returns the account
    and how: ``created``, ``recovered`` (an uncertain POST had committed) or ``existed`` (a duplicate)."""
    label = f"POST accounts ({source_system}:{cid})"
    posts = 0

    def attempt(_remaining: float) -> tuple[dict, str]:
        nonlocal posts
        if posts:
            found = _lookup(fusion, source_system, cid)
            if found is not None:
                log.info("%s: the account exists after an uncertain POST; that POST committed", label)
                return found, "recovered"
        posts += 1
        try:
            data = fusion.post("accounts", dict(payload))
        except FusionError as err:
            if err.reason_class == "duplicate":
                found = _lookup(fusion, source_system, cid)
                if found is not None:
                    return found, "existed"
            elif err.retryable:
                log.warning("%s: outcome unknown (%s); looking the reference up before any retry", label, err.message)
            raise
        if not isinstance(data, dict) or data.get("PartyNumber") in (None, ""):
            data = _lookup(fusion, source_system, cid) or {}
            if not data:
                raise FusionError(f"{label}: the answer names no PartyNumber and the reference is not found",
                                  reason_class="retryable", request=label)
        return data, "created"

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, FusionError) and exc.retryable and (
            exc.status is None or exc.status < 300 or exc.status in policy.statuses)

    def give_up(gave_up: GaveUp) -> tuple[dict, str]:
        found = _lookup(fusion, source_system, cid)
        if found is not None:
            return found, "recovered"
        raise FusionError(f"{label}: {gave_up}; the reference was looked up after the last attempt and does not "
                          "exist: the account was not created", reason_class="retryable", request=label) from None

    return retry.call(policy, attempt, transient=transient, give_up=give_up, label=label)


# --------------------------------------------------------------------------------------------- EBS catch-alls


def _webshop_key(name: str | None, prefix: str, home: Mapping[str, Any]) -> str | None:
    """``FR:EUR`` for ``<prefix> FR`` (home currency) or ``<prefix> GB EUR``; None for any other name."""
    if not name or not name.startswith(prefix + " "):
        return None
    m = _NAME.fullmatch(name[len(prefix) + 1:].strip())
    if m is None:
        return None
    currency = m.group("currency") or home.get(m.group("country"))
    return f"{m.group('country')}:{currency}" if currency else None


def _refresh_ebs_webshop(conn: sa.Connection, ebs: EbsClient, ctx: MappingContext,
                         result: CustomerResolution) -> None:
    prefix = str(ctx.defaults.get("webshop_account_prefix") or "Webshop Customers")
    home = ctx.lookups.get("home_currency", {})
    configured = {str(k): str(v) for k, v in ctx.lookups.get("ebs_webshop_account", {}).items()}
    found: dict[str, list[int]] = defaultdict(list)
    for account in ebs.customers_named(prefix):
        key = _webshop_key(account.account_name or account.party_name, prefix, home)
        if key is not None:
            found[key].append(account.cust_account_id)
    t = lookup_values
    existing = {k: (v, n) for k, v, n in conn.execute(
        sa.select(t.c.key, t.c.value, t.c.note).where(t.c.lookup == "ebs_webshop_account"))}
    for key, accounts in sorted(found.items()):
        if len(accounts) > 1:
            result.warnings.append(f"EBS has {len(accounts)} active accounts named for {key} "
                                   f"({', '.join(map(str, accounts))}): set the one to use with python -m prestaoracle "
                                   f"map --set-lookup ebs_webshop_account {key} CUST_ACCOUNT_ID")
            continue
        if key in configured or (key in existing and existing[key][1] != WEBSHOP_NOTE):
            continue  # the configuration's or an operator's choice
        if existing.get(key, (None,))[0] != str(accounts[0]):
            lookups.set_lookup(conn, "ebs_webshop_account", key, accounts[0], note=WEBSHOP_NOTE)
    for key, (_value, note) in existing.items():
        if note == WEBSHOP_NOTE and len(found.get(key, ())) != 1:
            lookups.unset_lookup(conn, "ebs_webshop_account", key)  # gone or no longer unique in EBS
    now = {k: v for k, v in conn.execute(sa.select(t.c.key, t.c.value).where(t.c.lookup == "ebs_webshop_account"))}
    result.webshop_accounts = {**configured, **now}
    for warning in result.warnings:
        log.warning("%s", warning)
