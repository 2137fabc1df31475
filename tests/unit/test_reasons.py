"""One list of reason classes: the dead letters, the staging schema and the clients' errors all use
``prestaoracle.reasons``, and several problems of one record are named by the most specific class."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from prestaoracle import reasons
from prestaoracle.oracle.errors import FusionError
from prestaoracle.staging import ddl, schema


def test_the_most_specific_class_names_a_record() -> None:
    assert reasons.most_specific(["invalid_data", "duplicate", "mapping_missing"]) == "duplicate"
    assert reasons.most_specific(["invalid_data", "business_rule"]) == "business_rule"
    assert reasons.most_specific(["retryable", "invalid_data"]) == "invalid_data"
    assert reasons.most_specific(["retryable"]) == "retryable"
    assert reasons.most_specific([]) == "invalid_data"


def test_every_class_has_a_rank_and_auth_is_never_a_record_s() -> None:
    assert sorted(reasons.MOST_SPECIFIC_FIRST) == sorted(reasons.REASON_CLASSES)
    assert reasons.AUTH in reasons.ERROR_CLASSES and reasons.AUTH not in reasons.REASON_CLASSES


def test_dead_letters_accept_exactly_the_reason_classes() -> None:
    assert schema.REASON_CLASSES is reasons.REASON_CLASSES
    checks = [str(c.sqltext) for c in schema.dead_letters.constraints if isinstance(c, sa.CheckConstraint)]
    expected = f"reason_class IN ({', '.join(repr(r) for r in reasons.REASON_CLASSES)})"
    assert expected in checks and expected in ddl.render("postgresql")


@pytest.mark.parametrize("reason", reasons.ERROR_CLASSES)
def test_client_errors_carry_any_error_class(reason: str) -> None:
    assert FusionError("x", reason_class=reason).reason_class == reason
