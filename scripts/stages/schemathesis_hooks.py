"""Rules of the API that its OpenAPI document states in prose because JSON Schema cannot.

Loaded by schemathesis.sh through SCHEMATHESIS_HOOKS.
"""

import itertools
import re

import schemathesis

STATS_PATH = "/management/message-stats"
KEYS = itertools.count()
# The Idempotency-Key pattern the OpenAPI document declares.
KEY_PATTERN = re.compile(r'[A-Za-z0-9._~:+/=-]{8,255}|"[A-Za-z0-9._~:+/=-]{8,255}"')


def _year(value):
    # bool is an int in Python, but the generator never means a year by it.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@schemathesis.hook
def before_call(context, case, kwargs):
    order_years(case)
    one_key_one_request(case)


def order_years(case):
    """`end` must not be before `start` (400 otherwise), a rule across two parameters.

    Swapping keeps every generated value, so a case stays exactly as valid or invalid against the
    schema as it was drawn, and no check is relaxed.
    """
    if case.operation.path != STATS_PATH or not isinstance(case.query, dict):
        return
    start, end = _year(case.query.get("start")), _year(case.query.get("end"))
    if start is not None and end is not None and end < start:
        case.query["start"], case.query["end"] = end, start


def one_key_one_request(case):
    """An Idempotency-Key names one request: sent again with another body it is refused (422),
    by design. Valid generated keys are made unique per call, keeping their drawn text and the
    pattern, so that a drawn key is never reused for another body; invalid ones are left as drawn,
    to be refused. Reuse is tested in tests/api/idempotency.rs.
    """
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if case.operation.path != "/messages" or not isinstance(key, str):
        return
    if not KEY_PATTERN.fullmatch(key):
        return
    bare = key.strip('"')
    headers["Idempotency-Key"] = f"{bare[:240]}-{next(KEYS)}"
    case.headers = headers
