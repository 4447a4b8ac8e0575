"""A Kafka producer (kafka-python) driven line by line, for keygate's gateway tests.

Usage: kafka_client.py BOOTSTRAP PLAIN KEY_ID SECRET
       kafka_client.py BOOTSTRAP OAUTHBEARER TOKEN

Then, on standard input, one command a line:
    produce TOPIC   send one record and wait for its acknowledgement
    quit
and, for each, one JSON line on standard output: {"ok": true, "offset": N} or
{"ok": false, "error": "ErrorClass: message"}.
"""

import json
import logging
import sys

from kafka import KafkaProducer
from kafka.net.sasl.oauth import AbstractTokenProvider

logging.basicConfig(level=logging.CRITICAL)


class StaticToken(AbstractTokenProvider):
    def __init__(self, token):
        super().__init__()
        self._token = token

    def token(self):
        return self._token

    def extensions(self):
        return {"traceId": "keygate-test"}


def producer(argv):
    bootstrap, mechanism = argv[0], argv[1]
    config = dict(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        request_timeout_ms=4000,
        max_block_ms=4000,
        bootstrap_timeout_ms=4000,
        retries=0,
        reconnect_backoff_ms=200,
    )
    if mechanism == "PLAIN":
        config.update(sasl_plain_username=argv[2], sasl_plain_password=argv[3])
    else:
        config.update(sasl_oauth_token_provider=StaticToken(argv[2]))
    return KafkaProducer(**config)


def answer(result):
    print(json.dumps(result), flush=True)


def main():
    client = None
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "quit":
            break
        try:
            if client is None:
                client = producer(sys.argv[1:])
            metadata = client.send(command[1], b"hello from keygate").get(timeout=6)
            answer({"ok": True, "offset": metadata.offset})
        except Exception as error:  # the test wants every failure as data
            answer({"ok": False, "error": "%s: %s" % (type(error).__name__, error)})
    if client is not None:
        try:
            client.close(timeout=1)
        except Exception:
            pass


if __name__ == "__main__":
    main()
