"""Customer 360: which Oracle account is which PrestaShop customer, and one row per customer across both systems.

Deterministic keys decide first because they cannot be wrong by accident (the shop reference an account carries,
then the normalised e-mail, then the VAT number); what is left goes to a probabilistic model (splink on DuckDB:
name, postcode, phone) so that a person Oracle knows under another e-mail is still found, with a probability a
person can judge. Every function is pure over DataFrames so the rules can be tested on small frames; the flow
(``prestaoracle.flows.customer_360``) reads staging and writes the results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DECISION_COLUMNS",
    "DUPLICATE_COLUMNS",
    "RULES",
    "SHOP_360_COLUMNS",
    "MatchSettings",
    "Prepared",
    "build_360",
    "changed_rows",
    "decide",
    "match_deterministic",
    "match_probabilistic",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_postcode",
    "normalise_vat",
    "prepare_accounts",
    "prepare_customers",
    "probable_duplicates",
    "score_pairs",
    "shop_rates",
    "unconverted_currencies",
]

log = logging.getLogger(__name__)

RULES: tuple[str, ...] = ("shop_reference", "email", "vat", "probabilistic", "none")
"""``customer_matches.rule``, in the order the rules run (``none``: no rule found an account)."""
DECISION_COLUMNS = ("id_customer", "cust_account_id", "account_number", "decision", "rule", "score", "details")
DUPLICATE_COLUMNS = ("kind", "id_customers", "cust_account_id", "account_number", "score", "name_similarity",
                     "names", "detail")
SHOP_360_COLUMNS = ("customer_key", "id_customer", "cust_account_id", "account_number", "party_id", "email", "name",
                    "country", "is_guest", "match_rule", "match_score", "currency", "shop_orders", "shop_revenue",
                    "oracle_orders", "oracle_revenue", "open_ar_balance")

# Letters NFKD does not decompose; without them folding would drop them ("Łukasz" -> "ukasz").
_FOLD = {"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae", "Đ": "D", "đ": "d", "Œ": "OE",
         "œ": "oe"}
_FOLD_TABLE = str.maketrans(_FOLD)


@dataclass(frozen=True)
class Comparison:
    """m and u probabilities of one comparison's levels, exact first, ``else`` last (the null level has none)."""

    m: tuple[float, ...]
    u: tuple[float, ...]


@dataclass(frozen=True)
class MatchSettings:
    """What the matcher needs to know; the flow fills it from ``customer_360.default.yaml`` (see docs)."""

    source_system: str = "PSHOP"
    match_threshold: float = 0.95
    review_threshold: float = 0.6
    duplicate_threshold: float = 0.95
    training: str = "fixed"  # "fixed": the m/u below; "em": u by random sampling, m by expectation maximisation
    prior: float = 0.001  # probability that two random records are the same person
    name_thresholds: tuple[float, ...] = (0.92, 0.8)
    name: Comparison = Comparison(m=(0.8, 0.12, 0.05, 0.03), u=(0.001, 0.004, 0.02, 0.975))
    postcode: Comparison = Comparison(m=(0.9, 0.1), u=(0.01, 0.99))
    phone: Comparison = Comparison(m=(0.8, 0.2), u=(0.0001, 0.9999))
    blocking: tuple[str, ...] = ("postcode_key", "surname_key", "phone_key")
    em_seed: int = 42
    currency: str = "EUR"
    catch_all_prefixes: tuple[str, ...] = ("Webshop Customers",)

    def __post_init__(self) -> None:
        if not 0 < self.review_threshold <= self.match_threshold <= 1:
            raise ValueError(f"thresholds must satisfy 0 < review ({self.review_threshold}) <= match "
                             f"({self.match_threshold}) <= 1")
        if self.training not in ("fixed", "em"):
            raise ValueError(f"training must be 'fixed' or 'em', not {self.training!r}")
        if not 0 < self.prior < 1:
            raise ValueError(f"prior must be within (0, 1), not {self.prior}")
        levels = {"name": len(self.name_thresholds) + 2, "postcode": 2, "phone": 2}
        for label, want in levels.items():
            comp: Comparison = getattr(self, label)
            if len(comp.m) != want or len(comp.u) != want:
                raise ValueError(f"{label}: m and u need {want} probabilities each (exact, "
                                 f"{'thresholds, ' if label == 'name' else ''}else)")
        unknown = set(self.blocking) - {"postcode_key", "surname_key", "phone_key", "name_key", "email_key"}
        if unknown:
            raise ValueError(f"blocking: unknown columns {sorted(unknown)}")


# --------------------------------------------------------------------------------------------- normalisation


def _blank_to_na(s: pd.Series) -> pd.Series:
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def normalise_email(s: pd.Series) -> pd.Series:
    """Lower case, no spaces anywhere (the seed and real users add them around and inside)."""
    return _blank_to_na(s.astype("string").str.lower().str.replace(r"\s+", "", regex=True))


def normalise_vat(s: pd.Series) -> pd.Series:
    """Upper case letters and digits only: "fr 12-345" and "FR12345" are one number."""
    return _blank_to_na(s.astype("string").str.upper().str.replace(r"[^0-9A-Z]", "", regex=True))


def normalise_phone(s: pd.Series) -> pd.Series:
    """Digits only."""
    return _blank_to_na(s.astype("string").str.replace(r"\D", "", regex=True))


def normalise_postcode(s: pd.Series) -> pd.Series:
    return _blank_to_na(s.astype("string").str.upper().str.replace(r"[\s-]", "", regex=True))


def normalise_name(s: pd.Series) -> pd.Series:
    """Accents folded, lower case, punctuation as spaces, single spaces: "JOSÉ  O'Neil" -> "jose o neil"."""
    folded = (s.astype("string").fillna("").str.translate(_FOLD_TABLE).str.normalize("NFKD")
              .str.encode("ascii", "ignore").str.decode("ascii"))
    return _blank_to_na(folded.str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True))


def _surname_key(name_key: pd.Series) -> pd.Series:
    return _blank_to_na(name_key.str.split(" ").str[-1].str[:3])


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Prepared:
    """Shop customers ready to match, and the ones that cannot be (neither e-mail nor name)."""

    customers: pd.DataFrame
    bad: pd.DataFrame


def prepare_customers(customers: pd.DataFrame, addresses: pd.DataFrame) -> Prepared:
    """One row per non-deleted customer with the newest non-deleted address's postcode, phone, VAT and company.

    ``customers``: ps_customers columns (id_customer, email, firstname, lastname, company, is_guest, deleted);
    ``addresses``: ps_addresses columns (id_address, id_customer, postcode, city, country_iso, phone, phone_mobile,
    vat_number, company, deleted, date_upd).
    """
    live = customers[~customers["deleted"].fillna(False).astype(bool)].copy()
    addr = addresses[~addresses["deleted"].fillna(False).astype(bool)]
    newest = (addr.sort_values(["id_customer", "date_upd", "id_address"], na_position="first")
              .groupby("id_customer", sort=False).tail(1))
    newest = newest.assign(phone=newest["phone"].where(_blank_to_na(newest["phone"]).notna(), newest["phone_mobile"]))
    newest = newest[["id_customer", "postcode", "city", "country_iso", "phone", "vat_number", "company"]].rename(
        columns={"company": "address_company"})
    out = live.merge(newest, on="id_customer", how="left")
    out["company"] = _blank_to_na(out["address_company"]).fillna(_blank_to_na(out["company"]))
    out["name"] = _blank_to_na(out["firstname"].astype("string").fillna("") + " "
                               + out["lastname"].astype("string").fillna(""))
    out["is_guest"] = out["is_guest"].fillna(False).astype(bool)
    out = _keys(out)
    bad = out["email_key"].isna() & out["name_key"].isna()
    columns = ["id_customer", "email", "name", "is_guest", "company", "postcode", "city", "country_iso", "phone",
               "vat_number", "email_key", "vat_key", "name_key", "postcode_key", "phone_key", "surname_key"]
    out = out[columns].sort_values("id_customer", ignore_index=True)
    return Prepared(out[~bad.to_numpy()].reset_index(drop=True), out[bad.to_numpy()].reset_index(drop=True))


def prepare_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    """ora_accounts rows with the match keys; ``active`` is Status "A" (an account without a status counts)."""
    out = accounts.copy()
    out["active"] = out["status"].isna() | (out["status"].astype("string").str.upper() == "A")
    out = _keys(out)
    out["source_ref"] = _blank_to_na(out["source_ref"])
    return out.sort_values("cust_account_id", ignore_index=True)


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(email_key=normalise_email(frame["email"]), vat_key=normalise_vat(frame["vat_number"]),
                        name_key=normalise_name(frame["name"]), postcode_key=normalise_postcode(frame["postcode"]),
                        phone_key=normalise_phone(frame["phone"])).pipe(
        lambda f: f.assign(surname_key=_surname_key(f["name_key"])))


# --------------------------------------------------------------------------------------------- deterministic


def _rule_keys(customers: pd.DataFrame, accounts: pd.DataFrame, rule: str,
               source_system: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if rule == "shop_reference":
        shop = customers.assign(key=customers["id_customer"].astype("Int64").astype("string"))
        own = accounts["source_system"].astype("string").str.upper() == source_system.upper()
        return shop, accounts[own.fillna(False)].assign(key=accounts["source_ref"])
    column = {"email": "email_key", "vat": "vat_key"}[rule]
    return customers.assign(key=customers[column]), accounts.assign(key=accounts[column])


def match_deterministic(customers: pd.DataFrame, accounts: pd.DataFrame, *,
                        source_system: str) -> pd.DataFrame:
    """Decisions of the three deterministic rules, each on the customers the rules before it left undecided.

    For a rule's key, only active accounts count: exactly one → ``matched``; two or more → ``review``
    (``reason`` "ambiguous", every candidate in the details); none active but some inactive → ``review``
    (``reason`` "inactive": a person decides whether to reactivate the account or leave the customer apart).
    """
    frames = []
    pending = customers[["id_customer", "email_key", "vat_key"]]
    account_cols = ["cust_account_id", "account_number", "active", "key"]
    for rule in RULES[:3]:
        shop, oracle = _rule_keys(pending, accounts, rule, source_system)
        cand = (shop[["id_customer", "key"]].dropna().merge(oracle[account_cols].dropna(subset=["key"]), on="key")
                .sort_values(["id_customer", "cust_account_id"]))
        if cand.empty:
            continue
        grouped = cand.groupby("id_customer", sort=True)
        summary = grouped.agg(key=("key", "first"), n_active=("active", "sum"),
                              candidates=("cust_account_id", list), candidate_accounts=("account_number", list),
                              candidates_active=("active", list))
        only = cand[cand["active"]].drop_duplicates("id_customer", keep=False)  # the one active candidate
        summary = summary.join(only.set_index("id_customer")[["cust_account_id", "account_number"]])
        summary["decision"] = np.where(summary["n_active"] == 1, "matched", "review")
        summary["reason"] = np.select([summary["n_active"] >= 2, summary["n_active"] == 0],
                                      ["ambiguous", "inactive"], default=None)
        # A single inactive candidate is still named: the reviewer sees which account it is.
        single = (summary["n_active"] == 0) & (summary["candidates"].str.len() == 1)
        summary["cust_account_id"] = summary["cust_account_id"].astype("Int64").mask(
            single, summary["candidates"].str[0])
        summary["account_number"] = summary["account_number"].astype(object).mask(
            single, summary["candidate_accounts"].str[0])
        summary = summary.reset_index().assign(rule=rule, score=1.0)
        frames.append(summary)
        pending = pending[~pending["id_customer"].isin(summary["id_customer"])]
    if not frames:
        return _empty_decisions()
    out = pd.concat(frames, ignore_index=True)
    out["cust_account_id"] = out["cust_account_id"].astype("Int64")
    return out


def _empty_decisions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in DECISION_COLUMNS}).astype(
        {"id_customer": "int64", "cust_account_id": "Int64", "score": "float64"})


# --------------------------------------------------------------------------------------------- probabilistic


def _linker_settings(settings: MatchSettings, link_type: str) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.JaroWinklerAtThresholds("name_key", list(settings.name_thresholds))
    postcode = cl.ExactMatch("postcode_key")
    phone = cl.ExactMatch("phone_key")
    if settings.training == "fixed":
        name = name.configure(m_probabilities=list(settings.name.m), u_probabilities=list(settings.name.u))
        postcode = postcode.configure(m_probabilities=list(settings.postcode.m),
                                      u_probabilities=list(settings.postcode.u))
        phone = phone.configure(m_probabilities=list(settings.phone.m), u_probabilities=list(settings.phone.u))
    return SettingsCreator(
        link_type=link_type, unique_id_column_name="uid", comparisons=[name, postcode, phone],
        blocking_rules_to_generate_predictions=[block_on(c) for c in settings.blocking],
        probability_two_random_records_match=settings.prior, retain_matching_columns=True,
        retain_intermediate_calculation_columns=False)


_MODEL_COLUMNS = ["uid", "name_key", "postcode_key", "phone_key", "surname_key", "email_key"]


def score_pairs(left: pd.DataFrame, right: pd.DataFrame | None, settings: MatchSettings,
                threshold: float) -> pd.DataFrame:
    """Scored pairs at or above ``threshold``: ``uid_l``, ``uid_r``, ``match_probability``, the compared values.

    ``right`` None deduplicates ``left`` (``uid_l < uid_r``); else links left to right (``uid_l`` from left). The
    frames need ``uid`` and the key columns of :func:`prepare_customers`.
    """
    import splink
    from splink import Linker

    out_cols = ["uid_l", "uid_r", "match_probability", "match_weight", "name_key_l", "name_key_r",
                "postcode_key_l", "postcode_key_r", "phone_key_l", "phone_key_r"]
    if left.empty or (right is not None and right.empty):
        return pd.DataFrame(columns=out_cols)
    db = splink.DuckDBAPI()
    link_type = "dedupe_only" if right is None else "link_only"
    tables = [db.register(left[_MODEL_COLUMNS].astype(object).where(left[_MODEL_COLUMNS].notna(), None),
                          table_name="a_left")]
    if right is not None:
        tables.append(db.register(right[_MODEL_COLUMNS].astype(object).where(right[_MODEL_COLUMNS].notna(), None),
                                  table_name="b_right"))
    linker = Linker(tables if right is not None else tables[0], _linker_settings(settings, link_type),
                    log_level=logging.WARNING)
    if settings.training == "em":
        from splink import block_on

        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=settings.em_seed)
        for rule in ("postcode_key", "surname_key"):
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(rule))
    pairs = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    if pairs.empty:
        return pd.DataFrame(columns=out_cols)
    if right is not None:
        # splink orders a pair's sides by table name: put the left frame's record on the left whatever it did.
        swap = pairs["source_dataset_l"] != "a_left"
        for col in ("uid", "name_key", "postcode_key", "phone_key"):
            lcol, rcol = f"{col}_l", f"{col}_r"
            pairs[lcol], pairs[rcol] = np.where(swap, pairs[rcol], pairs[lcol]), np.where(swap, pairs[lcol],
                                                                                          pairs[rcol])
    else:
        swap = pairs["uid_l"].astype("int64") > pairs["uid_r"].astype("int64")
        for col in ("uid", "name_key", "postcode_key", "phone_key"):
            lcol, rcol = f"{col}_l", f"{col}_r"
            pairs[lcol], pairs[rcol] = np.where(swap, pairs[rcol], pairs[lcol]), np.where(swap, pairs[lcol],
                                                                                          pairs[rcol])
    pairs = pairs[out_cols].astype({"uid_l": "int64", "uid_r": "int64"})
    pairs["match_probability"] = pairs["match_probability"].astype(float).round(6)
    pairs["match_weight"] = pairs["match_weight"].astype(float).round(4)
    return pairs.sort_values(["uid_l", "match_probability", "uid_r"], ascending=[True, False, True],
                             ignore_index=True)


def match_probabilistic(customers: pd.DataFrame, accounts: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Decisions for ``customers`` against ``accounts`` by the splink model: the best pair ≥ match threshold
    (and no second one that high) is ``matched``; a best pair ≥ review threshold, or two above the match threshold,
    is ``review``; everything else ``unmatched`` with the best probability seen, if any."""
    left = customers.assign(uid=customers["id_customer"].astype("int64"))
    right = accounts.assign(uid=accounts["cust_account_id"].astype("int64"))
    floor = min(0.01, settings.review_threshold)
    pairs = score_pairs(left, right, settings, floor)
    base = customers[["id_customer"]].copy()
    if pairs.empty:
        return base.assign(cust_account_id=pd.array([pd.NA] * len(base), dtype="Int64"), account_number=None,
                           decision="unmatched", rule="none", score=np.nan)
    pairs = pairs.rename(columns={"uid_l": "id_customer", "uid_r": "cust_account_id"})
    ranked = pairs.groupby("id_customer", sort=False)
    best = ranked.head(1).set_index("id_customer")
    second = ranked["match_probability"].nth(1)
    second = pd.Series(second.to_numpy(), index=pairs.loc[second.index, "id_customer"].to_numpy())
    best["second_probability"] = second.reindex(best.index)
    best = best.merge(accounts[["cust_account_id", "account_number"]], left_on="cust_account_id",
                      right_on="cust_account_id", how="left").set_index(best.index)
    p, p2 = best["match_probability"], best["second_probability"].fillna(0.0)
    best["decision"] = np.select(
        [(p >= settings.match_threshold) & (p2 < settings.match_threshold), p >= settings.review_threshold],
        ["matched", "review"], default="unmatched")
    best["reason"] = np.where((p >= settings.match_threshold) & (p2 >= settings.match_threshold), "ambiguous", None)
    out = base.merge(best.reset_index().rename(columns={"match_probability": "score"}), on="id_customer", how="left")
    out["decision"] = out["decision"].fillna("unmatched")
    out["rule"] = np.where(out["decision"] == "unmatched", "none", "probabilistic")
    keep_account = out["decision"] != "unmatched"
    out["best_account"] = out["cust_account_id"].astype("Int64")
    out["cust_account_id"] = out["cust_account_id"].astype("Int64").where(keep_account)
    out["account_number"] = out["account_number"].where(keep_account)
    return out


# --------------------------------------------------------------------------------------------- decisions


def decide(customers: pd.DataFrame, accounts: pd.DataFrame, settings: MatchSettings,
           bad: pd.DataFrame | None = None) -> pd.DataFrame:
    """One decision per customer (``DECISION_COLUMNS``; ``details`` a JSON text), sorted by ``id_customer``.

    ``customers``/``accounts`` come from :func:`prepare_customers` / :func:`prepare_accounts`; ``bad`` customers
    (no e-mail, no name) get ``unmatched`` with the reason. The probabilistic stage sees the active accounts no
    deterministic rule claimed, catch-all accounts left out.
    """
    det = match_deterministic(customers, accounts, source_system=settings.source_system)
    rest = customers[~customers["id_customer"].isin(det["id_customer"])]
    claimed = set(det["cust_account_id"].dropna().astype(int))
    claimed |= {int(c) for c in det.get("candidates", pd.Series(dtype=object)).explode().dropna()}
    open_accounts = accounts[accounts["active"] & ~accounts["cust_account_id"].isin(claimed)
                             & ~_catch_all(accounts, settings)]
    prob = match_probabilistic(rest, open_accounts, settings)
    frames = [det, prob]
    if bad is not None and not bad.empty:
        frames.append(bad[["id_customer"]].assign(decision="unmatched", rule="none", score=np.nan,
                                                  reason="no e-mail and no name"))
    out = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames) else _empty_decisions()
    out["cust_account_id"] = out["cust_account_id"].astype("Int64") if "cust_account_id" in out else pd.NA
    detail_cols = [c for c in ("reason", "key", "candidates", "candidate_accounts", "candidates_active",
                               "best_account", "second_probability", "match_weight", "name_key_l", "name_key_r",
                               "postcode_key_l", "postcode_key_r", "phone_key_l", "phone_key_r") if c in out]
    out["details"] = _json_lines(out[detail_cols]) if detail_cols else "{}"
    out["score"] = out["score"].astype(float)
    return out[list(DECISION_COLUMNS)].sort_values("id_customer", ignore_index=True)


def _catch_all(accounts: pd.DataFrame, settings: MatchSettings) -> pd.Series:
    names = accounts["name"].astype("string").fillna("")
    hit = pd.Series(False, index=accounts.index)
    for prefix in settings.catch_all_prefixes:
        hit |= names.str.startswith(prefix)
    return hit


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row (nulls dropped), serialised by pandas in one call rather than row by row."""
    if frame.empty:
        return []
    text = frame.reset_index(drop=True).to_json(orient="records", lines=True, double_precision=6)
    return [_drop_nulls(line) for line in text.splitlines()]


def _drop_nulls(line: str) -> str:
    import json

    return json.dumps({k: v for k, v in json.loads(line).items() if v is not None}, sort_keys=True)


# --------------------------------------------------------------------------------------------- duplicates


def probable_duplicates(customers: pd.DataFrame, decisions: pd.DataFrame, accounts: pd.DataFrame,
                        settings: MatchSettings) -> pd.DataFrame:
    """Shop customers that look like one person, and accounts more than one shop customer was matched to.

    Kinds: ``same_email`` (one normalised e-mail, several customer ids: typically a guest who later registered),
    ``similar_customers`` (the splink model on the customers themselves, at or above ``duplicate_threshold``,
    pairs not already reported by e-mail), ``shared_account`` (one account, several ``matched`` customers).
    """
    from rapidfuzz import fuzz, process

    frames = []
    keyed = customers[["id_customer", "email_key", "name_key", "name"]].dropna(subset=["email_key"])
    same = keyed.merge(keyed, on="email_key", suffixes=("_l", "_r"))
    same = same[same["id_customer_l"] < same["id_customer_r"]]
    if not same.empty:
        frames.append(pd.DataFrame({
            "kind": "same_email", "id_l": same["id_customer_l"], "id_r": same["id_customer_r"],
            "score": 1.0, "name_l": same["name_l"], "name_r": same["name_r"], "key_l": same["name_key_l"],
            "key_r": same["name_key_r"], "detail": "e-mail " + same["email_key"].astype(str)}))
    scored = score_pairs(customers.assign(uid=customers["id_customer"].astype("int64")), None, settings,
                         settings.duplicate_threshold)
    if not scored.empty:
        names = customers.set_index("id_customer")["name"]
        similar = pd.DataFrame({
            "kind": "similar_customers", "id_l": scored["uid_l"], "id_r": scored["uid_r"],
            "score": scored["match_probability"], "name_l": scored["uid_l"].map(names),
            "name_r": scored["uid_r"].map(names), "key_l": scored["name_key_l"], "key_r": scored["name_key_r"],
            "detail": "postcode " + scored["postcode_key_l"].astype(str) + ", phone " + scored["phone_key_l"].astype(
                str)})
        if frames:
            seen = frames[0][["id_l", "id_r"]].assign(seen=True)
            similar = similar.merge(seen, on=["id_l", "id_r"], how="left")
            similar = similar[similar["seen"].isna()].drop(columns="seen")
        frames.append(similar)
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = []
    if not pairs.empty:
        pairs["name_similarity"] = (process.cpdist(pairs["key_l"].fillna("").tolist(),
                                                   pairs["key_r"].fillna("").tolist(),
                                                   scorer=fuzz.token_sort_ratio, workers=1) / 100).round(3)
        pairs["id_customers"] = pairs["id_l"].astype(str) + ";" + pairs["id_r"].astype(str)
        pairs["names"] = pairs["name_l"].astype(str) + " | " + pairs["name_r"].astype(str)
        out.append(pairs.assign(cust_account_id=pd.NA, account_number=None))
    matched = decisions[decisions["decision"] == "matched"].dropna(subset=["cust_account_id"])
    shared = matched[matched.duplicated("cust_account_id", keep=False)].sort_values(["cust_account_id",
                                                                                     "id_customer"])
    if not shared.empty:
        names = customers.set_index("id_customer")["name"]
        grouped = shared.assign(name=shared["id_customer"].map(names).astype(str)).groupby(
            "cust_account_id", sort=True)
        agg = grouped.agg(id_customers=("id_customer", lambda s: ";".join(map(str, s))),
                          names=("name", " | ".join), account_number=("account_number", "first"),
                          rules=("rule", lambda s: ",".join(s)))
        agg = agg.reset_index()
        out.append(agg.assign(kind="shared_account", score=1.0, name_similarity=np.nan,
                              detail="matched by rules " + agg["rules"]))
    if not out:
        return pd.DataFrame(columns=list(DUPLICATE_COLUMNS))
    result = pd.concat(out, ignore_index=True)
    result["cust_account_id"] = result["cust_account_id"].astype("Int64")
    return result[list(DUPLICATE_COLUMNS)].sort_values(["kind", "id_customers"], ignore_index=True)


# --------------------------------------------------------------------------------------------- customer 360


def shop_rates(orders: pd.DataFrame, currency: str) -> dict[str, float]:
    """Units of each currency per unit of ``currency`` (the shop's default), from the newest order in each
    currency: the shop's own rate, so shop and Oracle amounts are converted alike."""
    rated = orders.dropna(subset=["currency_iso", "conversion_rate"]).sort_values(["date_add", "id_order"])
    rates = rated.groupby("currency_iso")["conversion_rate"].last().astype(float).to_dict()
    rates[currency] = 1.0
    return rates


def build_360(customers: pd.DataFrame, accounts: pd.DataFrame, decisions: pd.DataFrame, *,
              shop_orders: pd.DataFrame, oracle_orders: pd.DataFrame, invoices: pd.DataFrame,
              rates: Mapping[str, float], settings: MatchSettings) -> pd.DataFrame:
    """The customer_360 rows (``SHOP_360_COLUMNS``): one per shop customer (``ps:<id>``), then one per account no
    customer was matched to (``ora:<id>``), catch-all booking accounts left out.

    Amounts are in ``settings.currency``: shop orders are the valid ones (``total_paid_tax_incl`` over the order's
    conversion rate); Oracle orders are the account's (``buying_party_id`` = its party) except cancelled ones; the
    open AR balance sums ``balance_amount`` of the invoices billed to the account that are not settled. An account
    several customers were matched to gives its Oracle figures to one of them only (the best rule, registered
    before guest, lowest id), so totals over the table count them once.
    """
    currency = settings.currency
    shop = shop_orders[shop_orders["valid"].fillna(False).astype(bool)]
    shop = shop.assign(amount=_number(shop["total_paid_tax_incl"])
                       / _number(shop["conversion_rate"]).fillna(1.0).replace(0.0, 1.0))
    shop_sum = shop.groupby("id_customer").agg(shop_orders=("id_order", "size"), shop_revenue=("amount", "sum"))

    live = oracle_orders[oracle_orders["status_code"].astype("string").str.upper().fillna("") != "CANCELED"]
    live = live.assign(amount=_converted(live["total_amount"], live["currency"], rates))
    ora_sum = live.groupby("buying_party_id").agg(oracle_orders=("header_id", "size"),
                                                  oracle_revenue=("amount", "sum"))
    open_inv = invoices[_number(invoices["balance_amount"]).fillna(0.0) != 0.0]
    open_inv = open_inv.assign(amount=_converted(open_inv["balance_amount"], open_inv["currency"], rates))
    ar_sum = open_inv.groupby("bill_to_account")["amount"].sum().rename("open_ar_balance")

    acc = accounts.set_index("cust_account_id")
    acc_figures = (acc[["party_id", "account_number"]]
                   .join(ora_sum, on="party_id").join(ar_sum, on="account_number")
                   [["oracle_orders", "oracle_revenue", "open_ar_balance"]])

    matched = decisions[decisions["decision"] == "matched"][["id_customer", "cust_account_id", "rule", "score"]]
    rows = customers.merge(decisions[["id_customer", "rule", "score", "decision"]], on="id_customer", how="left")
    rows = rows.merge(matched[["id_customer", "cust_account_id"]], on="id_customer", how="left")
    rows["cust_account_id"] = rows["cust_account_id"].astype("Int64")
    rows = rows.join(acc[["party_id", "account_number"]], on="cust_account_id")
    rank = rows["rule"].map({r: i for i, r in enumerate(RULES)}).fillna(len(RULES))
    primary = (rows.assign(rank=rank).dropna(subset=["cust_account_id"])
               .sort_values(["cust_account_id", "rank", "is_guest", "id_customer"])
               .drop_duplicates("cust_account_id")["id_customer"])
    rows = rows.join(shop_sum, on="id_customer")
    figures = acc_figures.reindex(rows["cust_account_id"].astype("float64")).reset_index(drop=True)
    figures.index = rows.index
    is_primary = rows["id_customer"].isin(primary)
    for col in ("oracle_orders", "oracle_revenue", "open_ar_balance"):
        rows[col] = figures[col].where(is_primary)
    ps_rows = pd.DataFrame({
        "customer_key": "ps:" + rows["id_customer"].astype(str), "id_customer": rows["id_customer"],
        "cust_account_id": rows["cust_account_id"], "account_number": rows["account_number"],
        "party_id": rows["party_id"], "email": rows["email"], "name": rows["name"], "country": rows["country_iso"],
        "is_guest": rows["is_guest"], "match_rule": rows["rule"].where(rows["decision"] == "matched"),
        "match_score": rows["score"].where(rows["decision"] == "matched"), "currency": currency,
        "shop_orders": rows["shop_orders"], "shop_revenue": rows["shop_revenue"],
        "oracle_orders": rows["oracle_orders"], "oracle_revenue": rows["oracle_revenue"],
        "open_ar_balance": rows["open_ar_balance"]})

    lone = accounts[~accounts["cust_account_id"].isin(matched["cust_account_id"].dropna())
                    & ~_catch_all(accounts, settings)]
    lone = lone.join(acc_figures, on="cust_account_id")
    ora_rows = pd.DataFrame({
        "customer_key": "ora:" + lone["cust_account_id"].astype(str), "id_customer": pd.NA,
        "cust_account_id": lone["cust_account_id"], "account_number": lone["account_number"],
        "party_id": lone["party_id"], "email": lone["email"], "name": lone["name"], "country": lone["country"],
        "is_guest": pd.NA, "match_rule": None, "match_score": np.nan, "currency": currency,
        "shop_orders": 0, "shop_revenue": 0.0, "oracle_orders": lone["oracle_orders"],
        "oracle_revenue": lone["oracle_revenue"], "open_ar_balance": lone["open_ar_balance"]})
    out = pd.concat([ps_rows, ora_rows], ignore_index=True)
    for col in ("shop_orders", "oracle_orders"):
        out[col] = out[col].fillna(0).astype("int64")
    for col in ("shop_revenue", "oracle_revenue", "open_ar_balance"):
        out[col] = out[col].astype(float).fillna(0.0).round(2)
    for col in ("id_customer", "cust_account_id", "party_id"):
        out[col] = out[col].astype("Int64")
    out["is_guest"] = out["is_guest"].astype("boolean")
    return out[list(SHOP_360_COLUMNS)]


def _number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype(object), errors="coerce").astype("float64")


def unconverted_currencies(rates: Mapping[str, float], *currencies: pd.Series) -> list[str]:
    """The currencies in ``currencies`` that ``rates`` cannot convert (their amounts are left out of the 360)."""
    seen: set[str] = set()
    for column in currencies:
        seen |= set(column.dropna().astype(str))
    return sorted(seen - set(rates))


def _converted(amount: pd.Series, currency: pd.Series, rates: Mapping[str, float]) -> pd.Series:
    """``amount`` in the default currency; NaN (left out of sums) where the currency has no rate."""
    rate = currency.astype(object).map(dict(rates))
    return _number(amount) / pd.to_numeric(rate, errors="coerce").astype("float64")


# --------------------------------------------------------------------------------------------- idempotent writes


@dataclass
class Changes:
    """What a rewrite must do so the table equals the new rows: delete these keys, insert these rows."""

    insert: pd.DataFrame
    delete: list[Any]
    unchanged: int
    counts: dict[str, int] = field(default_factory=dict)


def changed_rows(new: pd.DataFrame, old: pd.DataFrame, *, key: str, compare: Sequence[str]) -> Changes:
    """Compare ``new`` to what the table holds (``old``) on ``compare`` columns, values normalised (floats rounded
    to 6 places, nulls alike): rows that are new or differ are inserted (their old version deleted first), rows
    no longer there are deleted; unchanged rows are left alone, so their ``run_id`` and timestamps stay."""
    def digest(frame: pd.DataFrame) -> pd.Series:
        norm = frame[list(compare)].copy()
        for col in norm.columns:
            values = norm[col]
            if pd.api.types.is_bool_dtype(values):  # a database hands booleans back as 0/1
                values = values.astype("Float64")
            numeric = pd.to_numeric(values.astype(object), errors="coerce")
            is_num = values.isna() | numeric.notna()
            if is_num.all():
                norm[col] = numeric.astype(float).round(6).map(repr)
            else:
                norm[col] = values.astype(object).where(values.notna(), None).map(str)
        return pd.Series(pd.util.hash_pandas_object(norm, index=False).to_numpy(), index=frame[key].to_numpy())

    new_hash = digest(new) if not new.empty else pd.Series(dtype="uint64")
    old_hash = digest(old) if not old.empty else pd.Series(dtype="uint64")
    same = new_hash.index.isin(old_hash.index)
    equal = pd.Series(False, index=new_hash.index)
    if same.any():
        common = new_hash.index[same]
        equal.loc[common] = new_hash.loc[common].to_numpy() == old_hash.reindex(common).to_numpy()
    insert = new[~equal.to_numpy()]
    gone = old_hash.index[~old_hash.index.isin(new_hash.index)]
    delete = sorted([*gone.tolist(), *insert[key][insert[key].isin(old_hash.index)].tolist()])
    return Changes(insert=insert, delete=delete, unchanged=int(equal.sum()),
                   counts={"inserted": int((~insert[key].isin(old_hash.index)).sum()),
                           "updated": int(insert[key].isin(old_hash.index).sum()), "deleted": int(len(gone)),
                           "unchanged": int(equal.sum())})
