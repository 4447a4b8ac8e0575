"""A Pulsar producer (the pulsar-client package) driven line by line, for keygate's gateway
tests.

Usage: pulsar_client.py SERVICE_URL TOKEN
       pulsar_client.py SERVICE_URL --token-file PATH   (read again at every authentication,
                                                        so a refresh picks up a new token)

Then, on standard input, one command a line:
    produce TOPIC   send one message and wait for its receipt
    subscribe TOPIC subscribe to it, as a consumer
    quit
and, for each, one JSON line on standard output: {"ok": true, "message_id": "..."} or
{"ok": false, "error": "ErrorClass: message", "logged": [...]}, where "logged" is what the
client library logged meanwhile (the server's own words are there, not in the exception).
"""

import json
import logging
import os
import sys

import pulsar

logging.basicConfig(level=logging.CRITICAL)


class Recorder(logging.Handler):
    """Keeps what the client library logs at warning level and above: where it says what the
    server answered, which its exceptions leave out."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


RECORDER = Recorder()


def authentication(args):
    if args[0] == "--token-file":
        path = args[1]

        def supplier():
            with open(path) as file:
                return file.read().strip()

        return pulsar.AuthenticationToken(supplier)
    return pulsar.AuthenticationToken(args[0])


def pulsar_logger():
    logger = logging.getLogger("pulsar")
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    logger.addHandler(RECORDER)
    return logger


def answer(result):
    print(json.dumps(result), flush=True)


def main():
    client = pulsar.Client(
        sys.argv[1],
        authentication=authentication(sys.argv[2:]),
        operation_timeout_seconds=5,
        connection_timeout_ms=3000,
        logger=pulsar_logger(),
    )
    producers = {}
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "quit":
            break
        try:
            topic = command[1]
            if command[0] == "subscribe":
                consumer = client.subscribe(topic, "keygate-test")
                answer({"ok": True})
                consumer.close()
                continue
            if topic not in producers:
                producers[topic] = client.create_producer(topic, send_timeout_millis=5000)
            message_id = producers[topic].send(b"hello from keygate")
            answer({"ok": True, "message_id": str(message_id)})
        except Exception as error:  # the test wants every failure as data
            logged, RECORDER.lines = RECORDER.lines, []
            answer({"ok": False, "error": "%s: %s" % (type(error).__name__, error), "logged": logged})
    try:
        client.close()
    finally:
        # Skip the C++ library's teardown at interpreter exit, which can abort noisily when a
        # connection failed.
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
