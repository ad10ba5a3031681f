"""Rules of the API that its OpenAPI document states in prose because JSON Schema cannot.

Loaded by schemathesis.sh through SCHEMATHESIS_HOOKS.
"""

import schemathesis

STATS_PATH = "/management/message-stats"


def _year(value):
    # bool is an int in Python, but the generator never means a year by it.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@schemathesis.hook
def before_call(context, case, kwargs):
    """`end` must not be before `start` (400 otherwise), a rule across two parameters.

    Swapping keeps every generated value, so a case stays exactly as valid or invalid against the
    schema as it was drawn, and no check is relaxed.
    """
    if case.operation.path != STATS_PATH or not isinstance(case.query, dict):
        return
    start, end = _year(case.query.get("start")), _year(case.query.get("end"))
    if start is not None and end is not None and end < start:
        case.query["start"], case.query["end"] = end, start
