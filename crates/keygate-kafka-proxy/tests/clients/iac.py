"""An infrastructure-as-code tool's view of keygate's control plane, over HTTP with requests,
driven line by line by the tests.

Usage: iac.py BASE_URL KEY_ID SECRET

Then, on standard input, one command a line:
    apply-account NAME DESCRIPTION   PUT the service account (create or update)
    ensure-key OWNER RESOURCE NAME   find the owner's key by NAME; create it if there is none
    find-key OWNER NAME              the key of that name, or none
    rotate KEY_ID                    rotate with a one-hour overlap
    revoke KEY_ID REASON             revoke
    quit
and, for each, one JSON line: {"ok": true, "status": 200, ...} or {"ok": false, ...}.
Secrets appear only in the answers to ensure-key (when it made the key) and rotate, as the API
returns them only there.
"""

import json
import sys

import requests


def answer(result):
    print(json.dumps(result), flush=True)


class ControlPlane:
    def __init__(self, base, key_id, secret):
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (key_id, secret)
        self.session.headers["Accept"] = "application/json"

    def call(self, method, path, **kwargs):
        response = self.session.request(method, self.base + path, timeout=10, **kwargs)
        body = response.json() if response.content else None
        if response.status_code >= 400:
            problem = body or {}
            raise Failure(response.status_code, problem.get("type"), problem.get("detail"))
        return response.status_code, body

    def apply_account(self, name, description):
        status, body = self.call("PUT", "/v1/service-accounts/" + name, json={"description": description})
        return {"status": status, "account": body}

    def find_key(self, owner, name):
        _, page = self.call("GET", "/v1/api-keys", params={"owner": owner, "name": name})
        items = page["items"]
        return {"key": items[0] if items else None}

    def ensure_key(self, owner, resource, name):
        found = self.find_key(owner, name)["key"]
        if found is not None:
            return {"status": 200, "key": found, "made": False}
        body = {
            "owner": owner,
            "scope": resource,
            "name": name,
            "permissions": ["produce", "consume", "describe", "admin"],
            "expiry": "1d",
            "description": "made by iac.py",
        }
        status, made = self.call("POST", "/v1/api-keys", json=body)
        return {"status": status, "key": made, "made": True, "secret": made["secret"]}

    def rotate(self, key_id):
        status, rotation = self.call("POST", "/v1/api-keys/%s/rotate" % key_id, json={"overlap": "1h"})
        return {"status": status, "old": rotation["old"], "new": rotation["new"], "secret": rotation["new"]["secret"]}

    def revoke(self, key_id, reason):
        status, key = self.call("POST", "/v1/api-keys/%s/revoke" % key_id, json={"reason": reason})
        return {"status": status, "key": key}


class Failure(Exception):
    def __init__(self, status, kind, detail):
        super().__init__("%s %s: %s" % (status, kind, detail))
        self.status, self.kind = status, kind


def main():
    base, key_id, secret = sys.argv[1:4]
    plane = ControlPlane(base, key_id, secret)
    for line in sys.stdin:
        command = line.split(maxsplit=2 if line.startswith(("apply-account", "revoke")) else -1)
        if not command:
            continue
        if command[0] == "quit":
            break
        try:
            if command[0] == "apply-account":
                result = plane.apply_account(command[1], command[2].strip())
            elif command[0] == "ensure-key":
                result = plane.ensure_key(command[1], command[2], command[3])
            elif command[0] == "find-key":
                result = plane.find_key(command[1], command[2])
            elif command[0] == "rotate":
                result = plane.rotate(command[1])
            elif command[0] == "revoke":
                result = plane.revoke(command[1], command[2].strip())
            else:
                raise ValueError("unknown command %r" % command[0])
            answer(dict(ok=True, **result))
        except Failure as failure:
            answer({"ok": False, "status": failure.status, "type": failure.kind, "error": str(failure)})
        except Exception as error:  # the test wants every failure as data
            answer({"ok": False, "error": "%s: %s" % (type(error).__name__, error)})


if __name__ == "__main__":
    main()
