"""Verifies tokens minted by keygate with PyJWT.

Reads one JSON object per line on stdin: {"alg", "token", "key", "audience"}, where "key" is the
PEM public key, or the HMAC secret in base64. Prints one JSON object per line: the decoded
claims, or {"error": "..."}.
"""
import base64
import json
import sys

import jwt

for line in sys.stdin:
    case = json.loads(line)
    key = case["key"]
    if case["alg"].startswith("HS"):
        key = base64.b64decode(key)
    try:
        claims = jwt.decode(
            case["token"],
            key,
            algorithms=[case["alg"]],
            audience=case["audience"],
            options={"require": ["exp", "sub", "jti"]},
        )
        print(json.dumps(claims), flush=True)
    except Exception as error:  # report every failure to the Rust side
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
