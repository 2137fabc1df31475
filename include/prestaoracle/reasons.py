"""Reason classes: why a record did not go through (DESIGN.md, "Per-record outcomes"). The one definition the
clients, the mapping, the quality rules and the dead letters share.

``retryable``        the same record may succeed later unchanged (no answer, 5xx, a lock); nothing is wrong with it.
``invalid_data``     the record is malformed or incomplete: fix the source record or the mapping.
``mapping_missing``  a value has no counterpart in the target (item, customer, site, currency…): add the
                     cross-reference or create the master record there.
``business_rule``    the target knows every value but refuses by policy (credit, inactive, no price, closed):
                     someone decides in the target, not in the mapping.
``duplicate``        the record already exists in the target.
``needs_review``     nothing is wrong with the record, but a guard rail held it for a person to confirm (a price
                     change above the allowed percentage): approve it by replaying, or fix the source.

``auth`` is not a record's reason but a systemic fault (credentials, token, roles): an error may carry it
(``ERROR_CLASSES``) and the task fails; it is never dead-lettered.

Adding a class: add it to ``REASON_CLASSES`` and ``MOST_SPECIFIC_FIRST``, then add a staging revision that rewrites
the CHECK constraint on ``dead_letters.reason_class`` (autogenerate does not compare CHECK constraints; see
``staging/migrate.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

RETRYABLE = "retryable"
INVALID_DATA = "invalid_data"
MAPPING_MISSING = "mapping_missing"
BUSINESS_RULE = "business_rule"
DUPLICATE = "duplicate"
NEEDS_REVIEW = "needs_review"
AUTH = "auth"

REASON_CLASSES: tuple[str, ...] = (RETRYABLE, INVALID_DATA, MAPPING_MISSING, BUSINESS_RULE, DUPLICATE, NEEDS_REVIEW)
"""What a dead letter may say; only ``retryable`` may succeed unchanged on a later run."""
ERROR_CLASSES: tuple[str, ...] = (*REASON_CLASSES, AUTH)
"""What a client error may say."""
MOST_SPECIFIC_FIRST: tuple[str, ...] = (DUPLICATE, MAPPING_MISSING, BUSINESS_RULE, INVALID_DATA, NEEDS_REVIEW,
                                        RETRYABLE)
"""One record, several problems: the first class here that it has names it (a duplicate stays a duplicate even
when the target adds follow-up messages)."""


def most_specific(found: Iterable[str], default: str = INVALID_DATA) -> str:
    """The class that names a record with problems of the classes ``found`` (``default`` when none is known)."""
    present = set(found)
    return next((reason for reason in MOST_SPECIFIC_FIRST if reason in present), default)
