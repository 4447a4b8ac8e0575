"""A Kafka client driven line by line, for the proxy's tests: kafka-python or confluent-kafka
(librdkafka), SASL/PLAIN or SASL/OAUTHBEARER, over SASL_PLAINTEXT or SASL_SSL.

Usage: kafka_client.py LIBRARY BOOTSTRAP PLAIN KEY_ID SECRET [CAFILE]
       kafka_client.py LIBRARY BOOTSTRAP OAUTHBEARER TOKEN [CAFILE]
where LIBRARY is kafka-python or confluent-kafka; with CAFILE the connection is SASL_SSL and
trusts that certificate.

Then, on standard input, one command a line:
    create TOPIC                create a topic of one partition (admin client)
    produce TOPIC VALUE         send one record and wait for its acknowledgement
    consume TOPIC GROUP N       subscribe in GROUP, poll until N records, commit; keeps the
                                consumer (and its connections) open afterwards
    fetch TOPIC                 read partition 0 from the start, without a group
    produce-again TOPIC VALUE   produce on the producer made by an earlier produce
    timeout SECONDS             how long the next produce waits (8 s unless set)
    quit
and, for each, one JSON line on standard output: {"ok": true, ...} or
{"ok": false, "error": "...", "code": "TOPIC_AUTHORIZATION_FAILED"} (the Kafka error name, when
there is one).
"""

import json
import logging
import sys
import time

logging.basicConfig(level=logging.CRITICAL)

TIMEOUT = 8


def answer(result):
    print(json.dumps(result), flush=True)


class KafkaPython:
    def __init__(self, bootstrap, mechanism, credentials, cafile):
        from kafka.net.sasl.oauth import AbstractTokenProvider

        class StaticToken(AbstractTokenProvider):
            def token(self):
                return credentials[0]

        self.config = dict(
            bootstrap_servers=bootstrap,
            security_protocol="SASL_SSL" if cafile else "SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            request_timeout_ms=TIMEOUT * 1000,
            reconnect_backoff_ms=200,
        )
        if cafile:
            self.config.update(ssl_cafile=cafile, ssl_check_hostname=False)
        if mechanism == "PLAIN":
            self.config.update(sasl_plain_username=credentials[0], sasl_plain_password=credentials[1])
        else:
            self.config.update(sasl_oauth_token_provider=StaticToken())
        self.producer = None
        self.consumer = None

    def create(self, topic):
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(**self.config)
        try:
            result = admin.create_topics([NewTopic(topic, 1, 1)], raise_errors=False)
            for created in result["topics"]:
                if created["error_code"] != 0:
                    from kafka.errors import for_code

                    raise for_code(created["error_code"])()
            return {}
        finally:
            admin.close()

    def produce(self, topic, value):
        from kafka import KafkaProducer

        if self.producer is None:
            self.producer = KafkaProducer(
                max_block_ms=TIMEOUT * 1000, bootstrap_timeout_ms=TIMEOUT * 1000, retries=0, **self.config
            )
        metadata = self.producer.send(topic, value.encode()).get(timeout=TIMEOUT)
        return {"offset": metadata.offset}

    def consume(self, topic, group, count):
        from kafka import KafkaConsumer

        self.consumer = KafkaConsumer(
            topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False, **self.config
        )
        records = []
        deadline = time.time() + TIMEOUT * 2
        while len(records) < count and time.time() < deadline:
            for batch in self.consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        self.consumer.commit()
        return {"records": [[r.offset, r.value.decode()] for r in records[:count]]}

    def fetch(self, topic):
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(auto_offset_reset="earliest", **self.config)
        try:
            consumer.assign([TopicPartition(topic, 0)])
            consumer.seek_to_beginning()
            records = []
            deadline = time.time() + TIMEOUT
            while not records and time.time() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    records.extend(batch)
            return {"records": [[r.offset, r.value.decode()] for r in records]}
        finally:
            consumer.close()

    def error(self, error):
        return getattr(error, "message", None)

    def close(self):
        for closable in (self.consumer, self.producer):
            try:
                if closable is not None:
                    closable.close(timeout=1) if closable is self.producer else closable.close()
            except Exception:
                pass


class ConfluentKafka:
    def __init__(self, bootstrap, mechanism, credentials, cafile):
        self.config = {
            "bootstrap.servers": bootstrap,
            "security.protocol": "SASL_SSL" if cafile else "SASL_PLAINTEXT",
            "sasl.mechanisms": mechanism,
            "socket.timeout.ms": TIMEOUT * 1000,
            "reconnect.backoff.ms": 200,
        }
        if cafile:
            self.config.update({"ssl.ca.location": cafile, "ssl.endpoint.identification.algorithm": "none"})
        if mechanism == "PLAIN":
            self.config.update({"sasl.username": credentials[0], "sasl.password": credentials[1]})
        else:
            token = credentials[0]
            # The token's own expiry matters to the proxy; librdkafka only wants a time to refresh.
            self.config["oauth_cb"] = lambda _: (token, time.time() + 3600)
        self.producer = None
        self.consumer = None

    def create(self, topic):
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.config)
        futures = admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=TIMEOUT)
        futures[topic].result(timeout=TIMEOUT)
        return {}

    def produce(self, topic, value):
        from confluent_kafka import KafkaException, Producer

        if self.producer is None:
            self.producer = Producer(dict(self.config, **{"message.timeout.ms": TIMEOUT * 1000}))
        delivered = []
        self.producer.produce(topic, value.encode(), on_delivery=lambda e, m: delivered.append((e, m)))
        self.producer.flush(TIMEOUT + 2)
        if not delivered:
            raise RuntimeError("no delivery report")
        error, message = delivered[0]
        if error is not None:
            raise KafkaException(error)
        return {"offset": message.offset()}

    def consume(self, topic, group, count):
        from confluent_kafka import Consumer, KafkaException

        self.consumer = Consumer(
            dict(self.config, **{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
        )
        self.consumer.subscribe([topic])
        records = []
        deadline = time.time() + TIMEOUT * 2
        while len(records) < count and time.time() < deadline:
            message = self.consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            records.append([message.offset(), message.value().decode()])
        if records:
            self.consumer.commit(asynchronous=False)
        return {"records": records[:count]}

    def fetch(self, topic):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

        consumer = Consumer(dict(self.config, **{"group.id": "unused", "enable.auto.commit": False}))
        try:
            consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            records = []
            deadline = time.time() + TIMEOUT
            while not records and time.time() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    continue
                if message.error():
                    raise KafkaException(message.error())
                records.append([message.offset(), message.value().decode()])
            return {"records": records}
        finally:
            consumer.close()

    def error(self, error):
        args = getattr(error, "args", ())
        if args and hasattr(args[0], "name"):
            return args[0].name()
        return None

    def close(self):
        try:
            if self.consumer is not None:
                self.consumer.close()
            if self.producer is not None:
                self.producer.flush(1)
        except Exception:
            pass


def main():
    library, bootstrap, mechanism = sys.argv[1:4]
    rest = sys.argv[4:]
    count = 2 if mechanism == "PLAIN" else 1
    credentials, cafile = rest[:count], (rest[count] if len(rest) > count else None)
    client = (KafkaPython if library == "kafka-python" else ConfluentKafka)(bootstrap, mechanism, credentials, cafile)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "quit":
            break
        try:
            if command[0] == "create":
                result = client.create(command[1])
            elif command[0] in ("produce", "produce-again"):
                result = client.produce(command[1], command[2])
            elif command[0] == "consume":
                result = client.consume(command[1], command[2], int(command[3]))
            elif command[0] == "fetch":
                result = client.fetch(command[1])
            elif command[0] == "timeout":
                global TIMEOUT
                TIMEOUT = int(command[1])
                result = {}
            else:
                raise ValueError("unknown command %r" % command[0])
            answer(dict(ok=True, **result))
        except Exception as error:  # the test wants every failure as data
            answer({"ok": False, "error": "%s: %s" % (type(error).__name__, error), "code": client.error(error)})
    client.close()


if __name__ == "__main__":
    main()
