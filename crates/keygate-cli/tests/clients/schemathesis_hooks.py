"""Schemathesis hooks for the control-plane run: generated requests never act on the caller's
own principal or key, so a run cannot lock itself out (by revoking its key, signing its
principal out or unbinding its role) and leave the rest of the API tested only for 401.

KEYGATE_PROTECTED holds the protected values, comma-separated (the key id, the principal).
"""

import json
import os

import schemathesis

PROTECTED = [value for value in os.environ.get("KEYGATE_PROTECTED", "").split(",") if value]


def _mentions(value):
    text = json.dumps(value, default=str)
    return any(protected in text for protected in PROTECTED)


@schemathesis.hook
def filter_case(context, case):
    return not any(
        _mentions(part)
        for part in (case.path_parameters, case.query, case.body if not isinstance(case.body, bytes) else None)
    )
