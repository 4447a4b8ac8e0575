"""One confluent-kafka (librdkafka) call that the proxy refuses, for the proxy's tests.

Usage: admin_refusals.py BOOTSTRAP KEY_ID SECRET CALL

CALL names an AdminClient method (or `send_offsets_to_transaction`, on a transactional
producer) made with a key that may not do it. The call asks about two items where the API
allows it, so that an answer naming fewer items than were asked would show. It prints one JSON
line: {"codes": [the Kafka error name of each item's result, in order]}, or {"error": "..."}
when the call failed as a whole. librdkafka aborts the process on some malformed answers: the
test reads that from the exit status.
"""

import json
import sys

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

TIMEOUT = 10


def code_of(future):
    """The error name of one item's result, or NO_ERROR."""
    try:
        future.result(timeout=TIMEOUT)
        return "NO_ERROR"
    except KafkaException as error:
        return error.args[0].name()


def codes(futures):
    return [code_of(future) for future in futures.values()]


def acl(topic):
    return AclBinding(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:x", "*",
        AclOperation.READ, AclPermissionType.ALLOW,
    )


def acl_filter(topic):
    return AclBindingFilter(
        ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None, None,
        AclOperation.ANY, AclPermissionType.ANY,
    )


def run(call, config):
    if call == "send_offsets_to_transaction":
        from confluent_kafka import Consumer

        producer = Producer({**config, "transactional.id": "keygate-test-tx"})
        producer.init_transactions(TIMEOUT)
        producer.begin_transaction()
        victim = Consumer({**config, "group.id": "victim-group"})
        try:
            producer.send_offsets_to_transaction(
                [TopicPartition("orders", 0, 999)], victim.consumer_group_metadata(), TIMEOUT
            )
            return ["NO_ERROR"]
        except KafkaException as error:
            return [error.args[0].name()]

    admin = AdminClient(config)
    topics = ["orders", "refunds"]
    if call == "create_acls":
        return codes(admin.create_acls([acl(t) for t in topics], request_timeout=TIMEOUT))
    if call == "delete_acls":
        return codes(admin.delete_acls([acl_filter(t) for t in topics], request_timeout=TIMEOUT))
    if call == "delete_consumer_groups":
        return codes(admin.delete_consumer_groups(["readers", "writers"], request_timeout=TIMEOUT))
    if call == "delete_records":
        return codes(admin.delete_records([TopicPartition(t, 0, 5) for t in topics], request_timeout=TIMEOUT))
    if call == "incremental_alter_configs":
        resources = [
            ConfigResource(
                ResourceType.TOPIC, t,
                incremental_configs=[ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)],
            )
            for t in topics
        ]
        return codes(admin.incremental_alter_configs(resources, request_timeout=TIMEOUT))
    if call == "alter_configs":
        resources = [ConfigResource(ResourceType.TOPIC, t, set_config={"retention.ms": "1"}) for t in topics]
        return codes(admin.alter_configs(resources, request_timeout=TIMEOUT))
    if call == "describe_user_scram_credentials":
        return codes(admin.describe_user_scram_credentials(["alice", "bob"], request_timeout=TIMEOUT))
    if call == "alter_user_scram_credentials":
        alterations = [
            UserScramCredentialDeletion("alice", ScramMechanism.SCRAM_SHA_256),
            UserScramCredentialUpsertion(
                "bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"password", b"salt"
            ),
        ]
        return codes(admin.alter_user_scram_credentials(alterations, request_timeout=TIMEOUT))
    if call == "create_partitions":
        return codes(admin.create_partitions([NewPartitions(t, 3) for t in topics], request_timeout=TIMEOUT))
    if call == "alter_consumer_group_offsets":
        request = [ConsumerGroupTopicPartitions("victim-group", [TopicPartition("orders", 0, 999)])]
        (future,) = admin.alter_consumer_group_offsets(request, request_timeout=TIMEOUT).values()
        try:
            partitions = future.result(timeout=TIMEOUT).topic_partitions
        except KafkaException as error:
            return [error.args[0].name()]
        return [p.error.name() if p.error else "NO_ERROR" for p in partitions]
    raise ValueError(f"unknown call {call}")


def main():
    bootstrap, key_id, secret, call = sys.argv[1:5]
    config = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": key_id,
        "sasl.password": secret,
        "socket.timeout.ms": TIMEOUT * 1000,
    }
    try:
        result = {"codes": run(call, config)}
    except KafkaException as error:
        result = {"error": error.args[0].name()}
    except Exception as error:  # what the test should see, whatever it is
        result = {"error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
