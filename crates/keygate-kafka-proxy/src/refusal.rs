//! Well-formed "not authorized" answers: for a request the key may not make, the response that
//! API gives, with its own authorization error, as a broker's authorizer would answer. Clients
//! report these as errors of the call; a dropped connection they would retry.
//!
//! Where a client waits for an answer per topic, partition or group (Produce, Fetch,
//! ListOffsets, OffsetCommit, OffsetFetch, CreateTopics, DeleteTopics, Metadata), the refusal
//! names each one the request named, read by [`shape`](crate::shape) with every length checked. Other refusals carry the
//! error at the top level, or (for the rarer administrative APIs whose responses only have
//! per-item errors) an empty list. Request bodies with arrays are never given to
//! kafka-protocol's decoders, which reserve memory for whatever count a client claims.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Encodable;

use crate::ProxyError;
use crate::codec::{Request, response};
use crate::shape;

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

/// The refusal of `request`, or `None` for a request that gets no response (Produce with
/// `acks=0`). An API without a refusal here is not in the proxy's table and never reaches this.
pub(crate) fn refusal(request: &Request) -> Result<Option<Bytes>, ProxyError> {
    let respond = |body: &dyn EncodeAs| body.respond(request);
    let (body, version) = (&request.body, request.version);
    let reply = match request.api {
        ApiKey::Produce => {
            let (acks, topics) = shape::produce(body, version)?;
            if acks == 0 {
                return Ok(None);
            }
            let mut refused = ProduceResponse::default();
            refused.responses = topics
                .into_iter()
                .map(|topic| {
                    let mut answer = produce_response::TopicProduceResponse::default();
                    answer.partition_responses = topic
                        .partitions
                        .iter()
                        .map(|&index| {
                            let mut partition =
                                produce_response::PartitionProduceResponse::default();
                            partition.index = index;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.base_offset = -1;
                            partition
                        })
                        .collect();
                    answer.name = topic.name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::InitProducerId => {
            // No arrays: safe to decode.
            let init: InitProducerIdRequest = request.decode()?;
            let mut refused = InitProducerIdResponse::default();
            refused.error_code = if init.transactional_id.is_some() {
                TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            } else {
                CLUSTER_AUTHORIZATION_FAILED
            };
            refused.producer_id = ProducerId(-1);
            refused.producer_epoch = -1;
            respond(&refused)
        }
        ApiKey::AddPartitionsToTxn => respond(&add_partitions_to_txn(body, version)?),
        // Adding a group's offsets to a transaction is reading the group, as Kafka sees it.
        ApiKey::AddOffsetsToTxn => {
            respond(&AddOffsetsToTxnResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED))
        }
        ApiKey::EndTxn => respond(
            &EndTxnResponse::default().with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ),
        ApiKey::TxnOffsetCommit => respond(&txn_offset_commit(body, version)?),
        ApiKey::Fetch => {
            let mut refused = FetchResponse::default();
            refused.responses = shape::fetch(body, version)?
                .into_iter()
                .map(|topic| {
                    let mut answer = fetch_response::FetchableTopicResponse::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|&index| {
                            let mut partition = fetch_response::PartitionData::default();
                            partition.partition_index = index;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.high_watermark = -1;
                            partition.last_stable_offset = -1;
                            partition.log_start_offset = -1;
                            partition.records = Some(Bytes::new());
                            partition
                        })
                        .collect();
                    answer.topic = topic.name;
                    answer.topic_id = topic.id;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::ListOffsets => {
            let mut refused = ListOffsetsResponse::default();
            refused.topics = shape::list_offsets(body, version)?
                .into_iter()
                .map(|topic| {
                    let mut answer = list_offsets_response::ListOffsetsTopicResponse::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|&index| {
                            let mut partition =
                                list_offsets_response::ListOffsetsPartitionResponse::default();
                            partition.partition_index = index;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.offset = -1;
                            partition.timestamp = -1;
                            partition
                        })
                        .collect();
                    answer.name = topic.name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::OffsetForLeaderEpoch => respond(&offset_for_leader_epoch(body, version)?),
        ApiKey::OffsetCommit => {
            let mut refused = OffsetCommitResponse::default();
            refused.topics = shape::offset_commit(body, version)?
                .into_iter()
                .map(|topic| {
                    let mut answer = offset_commit_response::OffsetCommitResponseTopic::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|&index| {
                            offset_commit_response::OffsetCommitResponsePartition::default()
                                .with_partition_index(index)
                                .with_error_code(GROUP_AUTHORIZATION_FAILED)
                        })
                        .collect();
                    answer.name = topic.name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::OffsetFetch => {
            // v1 has only per-partition errors; v2 to v7 the response's own; from v8 each
            // group's.
            let mut refused = OffsetFetchResponse::default();
            match version {
                ..=1 => {}
                2..=7 => refused.error_code = GROUP_AUTHORIZATION_FAILED,
                _ => {
                    refused.groups = shape::offset_fetch_groups(body, version)?
                        .into_iter()
                        .map(|group| {
                            offset_fetch_response::OffsetFetchResponseGroup::default()
                                .with_group_id(group)
                                .with_error_code(GROUP_AUTHORIZATION_FAILED)
                        })
                        .collect();
                }
            }
            respond(&refused)
        }
        ApiKey::OffsetDelete => {
            respond(&OffsetDeleteResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED))
        }
        ApiKey::JoinGroup => respond(
            &JoinGroupResponse::default()
                .with_error_code(GROUP_AUTHORIZATION_FAILED)
                .with_generation_id(-1),
        ),
        ApiKey::SyncGroup => {
            respond(&SyncGroupResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED))
        }
        ApiKey::Heartbeat => {
            respond(&HeartbeatResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED))
        }
        ApiKey::LeaveGroup => {
            respond(&LeaveGroupResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED))
        }
        ApiKey::ConsumerGroupHeartbeat => respond(
            &ConsumerGroupHeartbeatResponse::default().with_error_code(GROUP_AUTHORIZATION_FAILED),
        ),
        ApiKey::Metadata => {
            // No brokers: a key that may not describe learns nothing about the cluster.
            let mut refused = MetadataResponse::default();
            refused.topics = shape::metadata(body, version)?
                .into_iter()
                .flatten()
                .map(|topic| {
                    let mut answer = metadata_response::MetadataResponseTopic::default();
                    answer.error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer.name = topic.name;
                    answer.topic_id = topic.id;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::FindCoordinator => {
            let mut refused = FindCoordinatorResponse::default();
            if version < 4 {
                // No arrays before v4: safe to decode.
                let find: FindCoordinatorRequest = request.decode()?;
                refused.error_code = if find.key_type == 1 {
                    TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                } else {
                    GROUP_AUTHORIZATION_FAILED
                };
                refused.node_id = BrokerId(-1);
                refused.port = -1;
            }
            respond(&refused)
        }
        ApiKey::DescribeCluster => respond(
            &DescribeClusterResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                .with_controller_id(BrokerId(-1)),
        ),
        ApiKey::DescribeConfigs => respond(&describe_configs(body, version)?),
        ApiKey::AlterConfigs => respond(&alter_configs(body, version)?),
        ApiKey::IncrementalAlterConfigs => respond(&incremental_alter_configs(body, version)?),
        ApiKey::DescribeGroups => respond(&describe_groups(body, version)?),
        ApiKey::ListGroups => {
            respond(&ListGroupsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED))
        }
        ApiKey::ConsumerGroupDescribe => respond(&ConsumerGroupDescribeResponse::default()),
        ApiKey::DescribeTopicPartitions => respond(&DescribeTopicPartitionsResponse::default()),
        ApiKey::CreateTopics => {
            let mut refused = CreateTopicsResponse::default();
            refused.topics = shape::create_topics(body, version)?
                .into_iter()
                .map(|name| {
                    let mut answer = create_topics_response::CreatableTopicResult::default();
                    answer.name = name;
                    answer.error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer.num_partitions = -1;
                    answer.replication_factor = -1;
                    answer.topic_config_error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DeleteTopics => {
            let mut refused = DeleteTopicsResponse::default();
            refused.responses = shape::delete_topics(body, version)?
                .into_iter()
                .map(|topic| {
                    let mut answer = delete_topics_response::DeletableTopicResult::default();
                    answer.name = topic.name;
                    answer.topic_id = topic.id;
                    answer.error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DeleteRecords => respond(&delete_records(body, version)?),
        ApiKey::DeleteGroups => respond(&delete_groups(body, version)?),
        ApiKey::CreateAcls => respond(&create_acls(body, version)?),
        ApiKey::DeleteAcls => respond(&delete_acls(body, version)?),
        ApiKey::DescribeAcls => {
            respond(&DescribeAclsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED))
        }
        ApiKey::DescribeUserScramCredentials => respond(&describe_user_scram_credentials(body)?),
        ApiKey::AlterUserScramCredentials => respond(&alter_user_scram_credentials(body)?),
        ApiKey::ListPartitionReassignments => respond(
            &ListPartitionReassignmentsResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        ApiKey::CreatePartitions => respond(&create_partitions(body, version)?),
        ApiKey::ElectLeaders => respond(&elect_leaders(body, version)?),
        ApiKey::AlterPartitionReassignments => {
            respond(&alter_partition_reassignments(body, version)?)
        }
        ApiKey::DescribeLogDirs => {
            // The response's own error exists from v3; before, an empty list is Kafka's answer.
            respond(
                &DescribeLogDirsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED),
            )
        }
        ApiKey::DescribeClientQuotas => respond(
            &DescribeClientQuotasResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        ApiKey::AlterClientQuotas => respond(&alter_client_quotas(body, version)?),
        ApiKey::DescribeTransactions => respond(&describe_transactions(body)?),
        // Kafka lists only the transactions the caller may describe: here, none.
        ApiKey::ListTransactions => respond(&ListTransactionsResponse::default()),
        api => return Err(ProxyError::NotServed(api)),
    };
    reply.map(Some)
}

// One function per API whose response names each item the request named. Kafka answers every
// item, and librdkafka relies on it: an empty list where it expects one result per item aborts
// the client process (CreateAcls, DeleteGroups) or corrupts its heap
// (DescribeUserScramCredentials).

fn create_acls(body: &Bytes, version: i16) -> Result<CreateAclsResponse, ProxyError> {
    let results = (0..shape::create_acls(body, version)?)
        .map(|_| {
            create_acls_response::AclCreationResult::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        })
        .collect();
    Ok(CreateAclsResponse::default().with_results(results))
}

fn delete_acls(body: &Bytes, version: i16) -> Result<DeleteAclsResponse, ProxyError> {
    let results = (0..shape::delete_acls(body, version)?)
        .map(|_| {
            delete_acls_response::DeleteAclsFilterResult::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        })
        .collect();
    Ok(DeleteAclsResponse::default().with_filter_results(results))
}

fn delete_groups(body: &Bytes, version: i16) -> Result<DeleteGroupsResponse, ProxyError> {
    let results = shape::groups(body, version >= 2)?
        .into_iter()
        .map(|group| {
            delete_groups_response::DeletableGroupResult::default()
                .with_group_id(group)
                .with_error_code(GROUP_AUTHORIZATION_FAILED)
        })
        .collect();
    Ok(DeleteGroupsResponse::default().with_results(results))
}

fn describe_groups(body: &Bytes, version: i16) -> Result<DescribeGroupsResponse, ProxyError> {
    let groups = shape::groups(body, version >= 5)?
        .into_iter()
        .map(|group| {
            describe_groups_response::DescribedGroup::default()
                .with_group_id(group)
                .with_error_code(GROUP_AUTHORIZATION_FAILED)
                .with_authorized_operations(i32::MIN)
        })
        .collect();
    Ok(DescribeGroupsResponse::default().with_groups(groups))
}

fn delete_records(body: &Bytes, version: i16) -> Result<DeleteRecordsResponse, ProxyError> {
    let topics = per_partition(
        shape::delete_records(body, version)?,
        |name, partitions| {
            delete_records_response::DeleteRecordsTopicResult::default()
                .with_name(name)
                .with_partitions(partitions)
        },
        |index| {
            delete_records_response::DeleteRecordsPartitionResult::default()
                .with_partition_index(index)
                .with_low_watermark(-1)
                .with_error_code(TOPIC_AUTHORIZATION_FAILED)
        },
    );
    Ok(DeleteRecordsResponse::default().with_topics(topics))
}

/// The error Kafka gives a resource of `kind` (2 a topic, 4 a broker, 8 a broker logger).
fn config_error(kind: i8) -> i16 {
    if kind == 2 { TOPIC_AUTHORIZATION_FAILED } else { CLUSTER_AUTHORIZATION_FAILED }
}

fn describe_configs(body: &Bytes, version: i16) -> Result<DescribeConfigsResponse, ProxyError> {
    let results = shape::config_resources(ApiKey::DescribeConfigs, body, version)?
        .into_iter()
        .map(|(kind, name)| {
            describe_configs_response::DescribeConfigsResult::default()
                .with_error_code(config_error(kind))
                .with_resource_type(kind)
                .with_resource_name(name)
        })
        .collect();
    Ok(DescribeConfigsResponse::default().with_results(results))
}

fn alter_configs(body: &Bytes, version: i16) -> Result<AlterConfigsResponse, ProxyError> {
    let responses = shape::config_resources(ApiKey::AlterConfigs, body, version)?
        .into_iter()
        .map(|(kind, name)| {
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(config_error(kind))
                .with_resource_type(kind)
                .with_resource_name(name)
        })
        .collect();
    Ok(AlterConfigsResponse::default().with_responses(responses))
}

fn incremental_alter_configs(
    body: &Bytes,
    version: i16,
) -> Result<IncrementalAlterConfigsResponse, ProxyError> {
    let responses = shape::config_resources(ApiKey::IncrementalAlterConfigs, body, version)?
        .into_iter()
        .map(|(kind, name)| {
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(config_error(kind))
                .with_resource_type(kind)
                .with_resource_name(name)
        })
        .collect();
    Ok(IncrementalAlterConfigsResponse::default().with_responses(responses))
}

fn describe_user_scram_credentials(
    body: &Bytes,
) -> Result<DescribeUserScramCredentialsResponse, ProxyError> {
    let results = shape::scram_users_described(body)?
        .unwrap_or_default()
        .into_iter()
        .map(|user| {
            describe_user_scram_credentials_response::DescribeUserScramCredentialsResult::default()
                .with_user(user)
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        })
        .collect();
    // Never the response's own error: librdkafka frees the text it keeps for that error, which
    // it did not allocate (`munmap_chunk(): invalid pointer`), whatever the message. A request
    // for every user names none, and gets an empty list.
    Ok(DescribeUserScramCredentialsResponse::default().with_results(results))
}

fn alter_user_scram_credentials(
    body: &Bytes,
) -> Result<AlterUserScramCredentialsResponse, ProxyError> {
    let results = shape::scram_users_altered(body)?
        .into_iter()
        .map(|user| {
            alter_user_scram_credentials_response::AlterUserScramCredentialsResult::default()
                .with_user(user)
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        })
        .collect();
    Ok(AlterUserScramCredentialsResponse::default().with_results(results))
}

fn txn_offset_commit(body: &Bytes, version: i16) -> Result<TxnOffsetCommitResponse, ProxyError> {
    let topics = per_partition(
        shape::txn_offset_commit(body, version)?,
        |name, partitions| {
            txn_offset_commit_response::TxnOffsetCommitResponseTopic::default()
                .with_name(name)
                .with_partitions(partitions)
        },
        |index| {
            txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                .with_partition_index(index)
                .with_error_code(GROUP_AUTHORIZATION_FAILED)
        },
    );
    Ok(TxnOffsetCommitResponse::default().with_topics(topics))
}

fn add_partitions_to_txn(
    body: &Bytes,
    version: i16,
) -> Result<AddPartitionsToTxnResponse, ProxyError> {
    // From v4 a request batches transactions and the response has an error of its own; before,
    // only an error per partition.
    if version >= 4 {
        return Ok(AddPartitionsToTxnResponse::default()
            .with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
    }
    let topics = per_partition(
        shape::add_partitions_to_txn(body, version)?,
        |name, partitions| {
            add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
                .with_name(name)
                .with_results_by_partition(partitions)
        },
        |index| {
            add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default()
                .with_partition_index(index)
                .with_partition_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        },
    );
    Ok(AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics))
}

fn offset_for_leader_epoch(
    body: &Bytes,
    version: i16,
) -> Result<OffsetForLeaderEpochResponse, ProxyError> {
    let topics = per_partition(
        shape::offset_for_leader_epoch(body, version)?,
        |name, partitions| {
            offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                .with_topic(name)
                .with_partitions(partitions)
        },
        |index| {
            offset_for_leader_epoch_response::EpochEndOffset::default()
                .with_partition(index)
                .with_error_code(TOPIC_AUTHORIZATION_FAILED)
                .with_leader_epoch(-1)
                .with_end_offset(-1)
        },
    );
    Ok(OffsetForLeaderEpochResponse::default().with_topics(topics))
}

fn create_partitions(body: &Bytes, version: i16) -> Result<CreatePartitionsResponse, ProxyError> {
    let results = shape::create_partitions(body, version)?
        .into_iter()
        .map(|name| {
            create_partitions_response::CreatePartitionsTopicResult::default()
                .with_name(name)
                .with_error_code(TOPIC_AUTHORIZATION_FAILED)
        })
        .collect();
    Ok(CreatePartitionsResponse::default().with_results(results))
}

fn elect_leaders(body: &Bytes, version: i16) -> Result<ElectLeadersResponse, ProxyError> {
    let results = per_partition(
        shape::elect_leaders(body, version)?.unwrap_or_default(),
        |name, partitions| {
            elect_leaders_response::ReplicaElectionResult::default()
                .with_topic(name)
                .with_partition_result(partitions)
        },
        |index| {
            elect_leaders_response::PartitionResult::default()
                .with_partition_id(index)
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        },
    );
    let mut refused = ElectLeadersResponse::default().with_replica_election_results(results);
    if version >= 1 {
        refused.error_code = CLUSTER_AUTHORIZATION_FAILED;
    }
    Ok(refused)
}

fn alter_partition_reassignments(
    body: &Bytes,
    version: i16,
) -> Result<AlterPartitionReassignmentsResponse, ProxyError> {
    let responses = per_partition(
        shape::alter_partition_reassignments(body, version)?,
        |name, partitions| {
            alter_partition_reassignments_response::ReassignableTopicResponse::default()
                .with_name(name)
                .with_partitions(partitions)
        },
        |index| {
            alter_partition_reassignments_response::ReassignablePartitionResponse::default()
                .with_partition_index(index)
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        },
    );
    Ok(AlterPartitionReassignmentsResponse::default()
        .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
        .with_responses(responses))
}

fn alter_client_quotas(
    body: &Bytes,
    version: i16,
) -> Result<AlterClientQuotasResponse, ProxyError> {
    let entries = shape::alter_client_quotas(body, version)?
        .into_iter()
        .map(|entity| {
            let entity = entity
                .into_iter()
                .map(|(kind, name)| {
                    alter_client_quotas_response::EntityData::default()
                        .with_entity_type(kind)
                        .with_entity_name(name)
                })
                .collect();
            alter_client_quotas_response::EntryData::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                .with_entity(entity)
        })
        .collect();
    Ok(AlterClientQuotasResponse::default().with_entries(entries))
}

fn describe_transactions(body: &Bytes) -> Result<DescribeTransactionsResponse, ProxyError> {
    let states = shape::transactional_ids(body)?
        .into_iter()
        .map(|id| {
            describe_transactions_response::TransactionState::default()
                .with_transactional_id(TransactionalId(id))
                .with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        })
        .collect();
    Ok(DescribeTransactionsResponse::default().with_transaction_states(states))
}

/// The answer per topic and partition to a request that named `topics`: `topic` builds each
/// topic's answer from its name and its partitions' answers, which `partition` builds.
fn per_partition<T, P>(
    topics: Vec<shape::Topic>,
    topic: impl Fn(TopicName, Vec<P>) -> T,
    partition: impl Fn(i32) -> P,
) -> Vec<T> {
    topics
        .into_iter()
        .map(|t| topic(t.name, t.partitions.iter().map(|&index| partition(index)).collect()))
        .collect()
}

/// A response body that can answer a request: lets one closure encode every response type.
trait EncodeAs {
    fn respond(&self, request: &Request) -> Result<Bytes, ProxyError>;
}

impl<T: Encodable> EncodeAs for T {
    fn respond(&self, request: &Request) -> Result<Bytes, ProxyError> {
        response(request.api, request.version, request.correlation, self)
    }
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::{RequestHeader, ResponseHeader, ResponseKind};
    use kafka_protocol::protocol::{Decodable, StrBytes};
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::access::{TABLE, version_cap};

    const TOPIC_ID: Uuid = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);

    /// A request frame (without its size) of `api` v`version` with `body`.
    fn frame(api: ApiKey, version: i16, body: &[u8]) -> Bytes {
        let header = RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(42)
            .with_client_id(Some(StrBytes::from_static_str("test")));
        let mut buffer = BytesMut::new();
        header.encode(&mut buffer, api.request_header_version(version)).unwrap();
        buffer.put_slice(body);
        buffer.freeze()
    }

    fn encoded<T: Encodable>(body: &T, version: i16) -> Vec<u8> {
        let mut buffer = BytesMut::new();
        body.encode(&mut buffer, version).unwrap();
        buffer.to_vec()
    }

    fn orders() -> TopicName {
        TopicName(StrBytes::from_static_str("orders"))
    }

    fn readers() -> GroupId {
        GroupId(StrBytes::from_static_str("readers"))
    }

    /// A request of `api` v`version` naming topic `orders` (partitions 0 and 7) or group
    /// `readers` where the refusal names them; an empty body where it does not read the body.
    fn sample(api: ApiKey, version: i16) -> Vec<u8> {
        let by_id = |v: i16, from: i16| v >= from;
        match api {
            ApiKey::Produce => {
                let partitions =
                    [0, 7].map(|i| produce_request::PartitionProduceData::default().with_index(i));
                let topic = produce_request::TopicProduceData::default()
                    .with_name(orders())
                    .with_partition_data(partitions.to_vec());
                encoded(
                    &ProduceRequest::default().with_acks(-1).with_topic_data(vec![topic]),
                    version,
                )
            }
            ApiKey::Fetch => {
                let partitions =
                    [0, 7].map(|i| fetch_request::FetchPartition::default().with_partition(i));
                let mut topic =
                    fetch_request::FetchTopic::default().with_partitions(partitions.to_vec());
                if by_id(version, 13) {
                    topic.topic_id = TOPIC_ID;
                } else {
                    topic.topic = orders();
                }
                encoded(&FetchRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::ListOffsets => {
                let partitions = [0, 7].map(|i| {
                    list_offsets_request::ListOffsetsPartition::default().with_partition_index(i)
                });
                let topic = list_offsets_request::ListOffsetsTopic::default()
                    .with_name(orders())
                    .with_partitions(partitions.to_vec());
                encoded(&ListOffsetsRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::OffsetCommit => {
                let partitions = [0, 7].map(|i| {
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(i)
                        .with_committed_metadata(Some(StrBytes::from_static_str("m")))
                });
                let topic = offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(orders())
                    .with_partitions(partitions.to_vec());
                let commit = OffsetCommitRequest::default()
                    .with_group_id(readers())
                    .with_member_id(StrBytes::from_static_str("member"))
                    .with_topics(vec![topic]);
                encoded(&commit, version)
            }
            ApiKey::OffsetFetch if version >= 8 => {
                let mut topic = offset_fetch_request::OffsetFetchRequestTopics::default()
                    .with_partition_indexes(vec![0, 7]);
                if version >= 10 {
                    topic.topic_id = TOPIC_ID;
                } else {
                    topic.name = orders();
                }
                let group = offset_fetch_request::OffsetFetchRequestGroup::default()
                    .with_group_id(readers())
                    .with_topics(Some(vec![topic]));
                encoded(&OffsetFetchRequest::default().with_groups(vec![group]), version)
            }
            ApiKey::CreateTopics => {
                let assignment = create_topics_request::CreatableReplicaAssignment::default()
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)]);
                let config = create_topics_request::CreatableTopicConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"));
                let topic = create_topics_request::CreatableTopic::default()
                    .with_name(orders())
                    .with_assignments(vec![assignment])
                    .with_configs(vec![config]);
                encoded(&CreateTopicsRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::DeleteTopics => {
                let mut delete = DeleteTopicsRequest::default();
                if version >= 6 {
                    delete.topics = vec![
                        delete_topics_request::DeleteTopicState::default()
                            .with_name(Some(orders()))
                            .with_topic_id(TOPIC_ID),
                    ];
                } else {
                    delete.topic_names = vec![orders()];
                }
                encoded(&delete, version)
            }
            ApiKey::Metadata => {
                let mut topic = metadata_request::MetadataRequestTopic::default();
                topic.name = Some(orders());
                if version >= 10 {
                    topic.topic_id = TOPIC_ID;
                }
                encoded(&MetadataRequest::default().with_topics(Some(vec![topic])), version)
            }
            ApiKey::InitProducerId => {
                encoded(&InitProducerIdRequest::default().with_transactional_id(None), version)
            }
            ApiKey::FindCoordinator => encoded(&FindCoordinatorRequest::default(), version),
            ApiKey::CreateAcls => {
                let creation = create_acls_request::AclCreation::default()
                    .with_resource_name(StrBytes::from_static_str("orders"))
                    .with_principal(StrBytes::from_static_str("User:x"))
                    .with_host(StrBytes::from_static_str("*"));
                encoded(&CreateAclsRequest::default().with_creations(vec![creation; 2]), version)
            }
            ApiKey::DeleteAcls => {
                let filter = delete_acls_request::DeleteAclsFilter::default()
                    .with_resource_name_filter(Some(StrBytes::from_static_str("orders")));
                encoded(&DeleteAclsRequest::default().with_filters(vec![filter; 2]), version)
            }
            ApiKey::DeleteGroups => {
                encoded(&DeleteGroupsRequest::default().with_groups_names(vec![readers()]), version)
            }
            ApiKey::DescribeGroups => {
                encoded(&DescribeGroupsRequest::default().with_groups(vec![readers()]), version)
            }
            ApiKey::DeleteRecords => {
                let partitions = [0, 7].map(|i| {
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(i)
                        .with_offset(5)
                });
                let topic = delete_records_request::DeleteRecordsTopic::default()
                    .with_name(orders())
                    .with_partitions(partitions.to_vec());
                encoded(&DeleteRecordsRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::DescribeConfigs => {
                let resource = describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("orders"))
                    .with_configuration_keys(Some(vec![StrBytes::from_static_str("a")]));
                encoded(&DescribeConfigsRequest::default().with_resources(vec![resource]), version)
            }
            ApiKey::AlterConfigs => {
                let config = alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"));
                let resource = alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("orders"))
                    .with_configs(vec![config]);
                encoded(&AlterConfigsRequest::default().with_resources(vec![resource]), version)
            }
            ApiKey::IncrementalAlterConfigs => {
                let config = incremental_alter_configs_request::AlterableConfig::default()
                    .with_name(StrBytes::from_static_str("retention.ms"))
                    .with_value(Some(StrBytes::from_static_str("1")));
                let resource = incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("orders"))
                    .with_configs(vec![config]);
                let request =
                    IncrementalAlterConfigsRequest::default().with_resources(vec![resource]);
                encoded(&request, version)
            }
            ApiKey::AlterUserScramCredentials => {
                let deletion =
                    alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                        .with_name(StrBytes::from_static_str("orders"));
                let upsertion =
                    alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
                        .with_name(StrBytes::from_static_str("orders"))
                        .with_salt(Bytes::from_static(b"salt"));
                let request = AlterUserScramCredentialsRequest::default()
                    .with_deletions(vec![deletion])
                    .with_upsertions(vec![upsertion]);
                encoded(&request, version)
            }
            ApiKey::DescribeUserScramCredentials => {
                let user = describe_user_scram_credentials_request::UserName::default()
                    .with_name(StrBytes::from_static_str("orders"));
                let request =
                    DescribeUserScramCredentialsRequest::default().with_users(Some(vec![user]));
                encoded(&request, version)
            }
            ApiKey::TxnOffsetCommit => {
                let partitions = [0, 7].map(|i| {
                    txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(i)
                });
                let topic = txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(orders())
                    .with_partitions(partitions.to_vec());
                let request = TxnOffsetCommitRequest::default()
                    .with_group_id(readers())
                    .with_topics(vec![topic]);
                encoded(&request, version)
            }
            ApiKey::AddPartitionsToTxn if version <= 3 => {
                let topic = add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(orders())
                    .with_partitions(vec![0, 7]);
                let request =
                    AddPartitionsToTxnRequest::default().with_v3_and_below_topics(vec![topic]);
                encoded(&request, version)
            }
            ApiKey::OffsetForLeaderEpoch => {
                let partitions = [0, 7].map(|i| {
                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(i)
                });
                let topic = offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(orders())
                    .with_partitions(partitions.to_vec());
                encoded(&OffsetForLeaderEpochRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::CreatePartitions => {
                let assignment = create_partitions_request::CreatePartitionsAssignment::default()
                    .with_broker_ids(vec![BrokerId(1)]);
                let topic = create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(orders())
                    .with_count(3)
                    .with_assignments(Some(vec![assignment]));
                encoded(&CreatePartitionsRequest::default().with_topics(vec![topic]), version)
            }
            ApiKey::ElectLeaders => {
                let topic = elect_leaders_request::TopicPartitions::default()
                    .with_topic(orders())
                    .with_partitions(vec![0, 7]);
                let request =
                    ElectLeadersRequest::default().with_topic_partitions(Some(vec![topic]));
                encoded(&request, version)
            }
            ApiKey::AlterPartitionReassignments => {
                let partitions = [0, 7].map(|i| {
                    alter_partition_reassignments_request::ReassignablePartition::default()
                        .with_partition_index(i)
                        .with_replicas(Some(vec![BrokerId(1)]))
                });
                let topic = alter_partition_reassignments_request::ReassignableTopic::default()
                    .with_name(orders())
                    .with_partitions(partitions.to_vec());
                let request =
                    AlterPartitionReassignmentsRequest::default().with_topics(vec![topic]);
                encoded(&request, version)
            }
            ApiKey::AlterClientQuotas => {
                let entity = alter_client_quotas_request::EntityData::default()
                    .with_entity_type(StrBytes::from_static_str("user"))
                    .with_entity_name(Some(StrBytes::from_static_str("orders")));
                let op = alter_client_quotas_request::OpData::default()
                    .with_key(StrBytes::from_static_str("producer_byte_rate"));
                let entry = alter_client_quotas_request::EntryData::default()
                    .with_entity(vec![entity])
                    .with_ops(vec![op]);
                encoded(&AlterClientQuotasRequest::default().with_entries(vec![entry]), version)
            }
            ApiKey::DescribeTransactions => {
                let ids = vec![TransactionalId(StrBytes::from_static_str("orders"))];
                encoded(
                    &DescribeTransactionsRequest::default().with_transactional_ids(ids),
                    version,
                )
            }
            _ => Vec::new(),
        }
    }

    /// The refusal of a request, decoded as the API's response.
    fn refused(api: ApiKey, version: i16, body: &[u8]) -> ResponseKind {
        let request = Request::parse(frame(api, version, body)).unwrap();
        let answer = refusal(&request).unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"));
        let mut answer = answer.expect("an answer").slice(4..);
        let header =
            ResponseHeader::decode(&mut answer, api.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, 42);
        let decoded = ResponseKind::decode(api, &mut answer, version)
            .unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"));
        assert!(answer.is_empty(), "{api:?} v{version}: bytes left over");
        decoded
    }

    /// The versions the proxy may offer of `api`.
    fn versions(api: ApiKey) -> std::ops::RangeInclusive<i16> {
        let range = api.valid_versions();
        range.min..=range.max.min(version_cap(api).unwrap_or(i16::MAX))
    }

    #[test]
    fn every_api_is_refused_with_its_own_response_at_every_version() {
        for &(api, _) in TABLE {
            for version in versions(api) {
                let answer = refused(api, version, &sample(api, version));
                let partitions = |named: Vec<(i32, i16)>| {
                    assert_eq!(named, [(0, 29), (7, 29)], "{api:?} v{version}");
                };
                match answer {
                    ResponseKind::Produce(r) => {
                        assert_eq!(r.responses[0].name, orders());
                        partitions(
                            r.responses[0]
                                .partition_responses
                                .iter()
                                .map(|p| (p.index, p.error_code))
                                .collect(),
                        );
                    }
                    ResponseKind::Fetch(r) => {
                        let topic = &r.responses[0];
                        if version >= 13 {
                            assert_eq!(topic.topic_id, TOPIC_ID);
                        } else {
                            assert_eq!(topic.topic, orders());
                        }
                        partitions(
                            topic
                                .partitions
                                .iter()
                                .map(|p| (p.partition_index, p.error_code))
                                .collect(),
                        );
                    }
                    ResponseKind::ListOffsets(r) => {
                        assert_eq!(r.topics[0].name, orders());
                        partitions(
                            r.topics[0]
                                .partitions
                                .iter()
                                .map(|p| (p.partition_index, p.error_code))
                                .collect(),
                        );
                    }
                    ResponseKind::OffsetCommit(r) => {
                        assert_eq!(r.topics[0].name, orders());
                        let codes: Vec<_> = r.topics[0]
                            .partitions
                            .iter()
                            .map(|p| (p.partition_index, p.error_code))
                            .collect();
                        assert_eq!(codes, [(0, 30), (7, 30)], "v{version}");
                    }
                    ResponseKind::OffsetFetch(r) if version >= 8 => {
                        assert_eq!(r.groups[0].group_id, readers());
                        assert_eq!(r.groups[0].error_code, 30);
                    }
                    ResponseKind::OffsetFetch(r) if version >= 2 => assert_eq!(r.error_code, 30),
                    ResponseKind::CreateTopics(r) => {
                        assert_eq!((&r.topics[0].name, r.topics[0].error_code), (&orders(), 29));
                    }
                    ResponseKind::DeleteTopics(r) => {
                        assert_eq!(r.responses[0].name, Some(orders()));
                        assert_eq!(r.responses[0].error_code, 29);
                    }
                    ResponseKind::Metadata(r) => {
                        assert!(r.brokers.is_empty());
                        assert_eq!(
                            (&r.topics[0].name, r.topics[0].error_code),
                            (&Some(orders()), 29)
                        );
                    }
                    ResponseKind::JoinGroup(r) => assert_eq!(r.error_code, 30),
                    ResponseKind::CreateAcls(r) => {
                        let codes: Vec<_> = r.results.iter().map(|r| r.error_code).collect();
                        assert_eq!(codes, [31, 31], "v{version}");
                    }
                    ResponseKind::DeleteAcls(r) => {
                        let codes: Vec<_> = r.filter_results.iter().map(|r| r.error_code).collect();
                        assert_eq!(codes, [31, 31], "v{version}");
                    }
                    ResponseKind::DeleteGroups(r) => {
                        assert_eq!(
                            (&r.results[0].group_id, r.results[0].error_code),
                            (&readers(), 30)
                        );
                        assert_eq!(r.results.len(), 1);
                    }
                    ResponseKind::DescribeGroups(r) => {
                        assert_eq!(
                            (&r.groups[0].group_id, r.groups[0].error_code),
                            (&readers(), 30)
                        );
                        assert_eq!(r.groups.len(), 1);
                    }
                    ResponseKind::DeleteRecords(r) => {
                        assert_eq!(r.topics[0].name, orders());
                        partitions(
                            r.topics[0]
                                .partitions
                                .iter()
                                .map(|p| (p.partition_index, p.error_code))
                                .collect(),
                        );
                    }
                    ResponseKind::DescribeConfigs(r) => {
                        let result = &r.results[0];
                        assert_eq!((result.resource_type, result.error_code), (2, 29));
                        assert_eq!(&*result.resource_name, "orders");
                    }
                    ResponseKind::AlterConfigs(r) => {
                        let result = &r.responses[0];
                        assert_eq!((result.resource_type, result.error_code), (2, 29));
                        assert_eq!(&*result.resource_name, "orders");
                    }
                    ResponseKind::IncrementalAlterConfigs(r) => {
                        let result = &r.responses[0];
                        assert_eq!((result.resource_type, result.error_code), (2, 29));
                        assert_eq!(&*result.resource_name, "orders");
                    }
                    ResponseKind::AlterUserScramCredentials(r) => {
                        // Deleted and upserted: named once.
                        assert_eq!(r.results.len(), 1);
                        assert_eq!((&*r.results[0].user, r.results[0].error_code), ("orders", 31));
                    }
                    ResponseKind::DescribeUserScramCredentials(r) => {
                        assert_eq!(r.error_code, 0);
                        assert_eq!((&*r.results[0].user, r.results[0].error_code), ("orders", 31));
                    }
                    ResponseKind::TxnOffsetCommit(r) => {
                        assert_eq!(r.topics[0].name, orders());
                        let codes: Vec<_> = r.topics[0]
                            .partitions
                            .iter()
                            .map(|p| (p.partition_index, p.error_code))
                            .collect();
                        assert_eq!(codes, [(0, 30), (7, 30)], "v{version}");
                    }
                    ResponseKind::AddPartitionsToTxn(r) if version <= 3 => {
                        let topic = &r.results_by_topic_v3_and_below[0];
                        assert_eq!(topic.name, orders());
                        let codes: Vec<_> = topic
                            .results_by_partition
                            .iter()
                            .map(|p| (p.partition_index, p.partition_error_code))
                            .collect();
                        assert_eq!(codes, [(0, 53), (7, 53)], "v{version}");
                    }
                    ResponseKind::AddPartitionsToTxn(r) => assert_eq!(r.error_code, 53),
                    ResponseKind::OffsetForLeaderEpoch(r) => {
                        assert_eq!(r.topics[0].topic, orders());
                        partitions(
                            r.topics[0]
                                .partitions
                                .iter()
                                .map(|p| (p.partition, p.error_code))
                                .collect(),
                        );
                    }
                    ResponseKind::CreatePartitions(r) => {
                        assert_eq!((&r.results[0].name, r.results[0].error_code), (&orders(), 29));
                    }
                    ResponseKind::ElectLeaders(r) => {
                        let topic = &r.replica_election_results[0];
                        assert_eq!(topic.topic, orders());
                        let codes: Vec<_> = topic
                            .partition_result
                            .iter()
                            .map(|p| (p.partition_id, p.error_code))
                            .collect();
                        assert_eq!(codes, [(0, 31), (7, 31)], "v{version}");
                    }
                    ResponseKind::AlterPartitionReassignments(r) => {
                        assert_eq!(r.error_code, 31);
                        let codes: Vec<_> = r.responses[0]
                            .partitions
                            .iter()
                            .map(|p| (p.partition_index, p.error_code))
                            .collect();
                        assert_eq!(codes, [(0, 31), (7, 31)], "v{version}");
                    }
                    ResponseKind::AlterClientQuotas(r) => {
                        assert_eq!(r.entries[0].error_code, 31);
                        assert_eq!(r.entries[0].entity[0].entity_name.as_deref(), Some("orders"));
                    }
                    ResponseKind::DescribeTransactions(r) => {
                        let state = &r.transaction_states[0];
                        assert_eq!((&*state.transactional_id.0, state.error_code), ("orders", 53));
                    }
                    ResponseKind::InitProducerId(r) => assert_eq!(r.error_code, 31),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_refused_produce_without_acks_gets_no_answer() {
        let produce = ProduceRequest::default().with_acks(0);
        let request = Request::parse(frame(ApiKey::Produce, 7, &encoded(&produce, 7))).unwrap();
        assert!(refusal(&request).unwrap().is_none());
    }

    #[test]
    fn a_count_the_body_cannot_hold_is_refused_before_anything_is_reserved() {
        // Metadata v0 claiming 54 million topics in 4 bytes, and Produce claiming i32::MAX.
        let metadata = Request::parse(frame(ApiKey::Metadata, 0, &[3, 0x3c, 0x0c, 0])).unwrap();
        assert!(matches!(refusal(&metadata), Err(ProxyError::Protocol(_))));
        let mut produce = vec![0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30];
        produce.extend_from_slice(&i32::MAX.to_be_bytes());
        let produce = Request::parse(frame(ApiKey::Produce, 7, &produce)).unwrap();
        assert!(matches!(refusal(&produce), Err(ProxyError::Protocol(_))));
    }

    proptest! {
        /// Whatever a client sends as the body of any API the proxy serves, refusing it gives
        /// an answer or a typed error: no panic, and no allocation larger than what was sent.
        #[test]
        fn any_body_is_refused_without_panicking(
            at in 0..TABLE.len(),
            version in 0i16..20,
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let api = TABLE[at].0;
            let range = versions(api);
            let span = range.end() - range.start() + 1;
            let version = range.start() + version % span;
            if let Ok(request) = Request::parse(frame(api, version, &body)) {
                let _ = refusal(&request);
            }
        }

        /// Any bytes at all as a request frame: parsed or refused with an error.
        #[test]
        fn any_frame_parses_or_is_refused(frame in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(request) = Request::parse(Bytes::from(frame)) {
                let _ = refusal(&request);
            }
        }
    }
}
