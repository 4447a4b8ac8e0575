//! Well-formed "not authorized" answers: for a request the key may not make, the response that
//! API gives, with its own authorization error on everything the request named, as a broker's
//! authorizer would answer. Clients report these as errors of the call; a dropped connection
//! they would retry.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Encodable;

use crate::ProxyError;
use crate::codec::{Request, response};

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

/// Kafka's configuration resource types.
const CONFIG_TOPIC: i8 = 2;
const CONFIG_GROUP: i8 = 32;

/// The refusal of `request`, or `None` for a request that gets no response (Produce with
/// `acks=0`). An API without a refusal here is not in the proxy's table and never reaches this.
pub(crate) fn refusal(request: &Request) -> Result<Option<Bytes>, ProxyError> {
    let respond = |body: &dyn EncodeAs| body.respond(request);
    let reply = match request.api {
        ApiKey::Produce => {
            let produce: ProduceRequest = request.decode()?;
            if produce.acks == 0 {
                return Ok(None);
            }
            let mut refused = ProduceResponse::default();
            refused.responses = produce
                .topic_data
                .into_iter()
                .map(|topic| {
                    let mut answer = produce_response::TopicProduceResponse::default();
                    answer.partition_responses = topic
                        .partition_data
                        .iter()
                        .map(|p| {
                            let mut partition =
                                produce_response::PartitionProduceResponse::default();
                            partition.index = p.index;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.base_offset = -1;
                            partition
                        })
                        .collect();
                    answer.name = topic.name;
                    answer.topic_id = topic.topic_id;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::InitProducerId => {
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
        ApiKey::AddPartitionsToTxn => {
            let add: AddPartitionsToTxnRequest = request.decode()?;
            let mut refused = AddPartitionsToTxnResponse::default();
            if request.version >= 4 {
                refused.error_code = TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
            } else {
                refused.results_by_topic_v3_and_below = add
                    .v3_and_below_topics
                    .into_iter()
                    .map(|topic| {
                        let mut answer =
                            add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default();
                        answer.results_by_partition = topic
                            .partitions
                            .iter()
                            .map(|&index| {
                                let mut partition = add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default();
                                partition.partition_index = index;
                                partition.partition_error_code =
                                    TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
                                partition
                            })
                            .collect();
                        answer.name = topic.name;
                        answer
                    })
                    .collect();
            }
            respond(&refused)
        }
        ApiKey::AddOffsetsToTxn => respond(
            &AddOffsetsToTxnResponse::default()
                .with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ),
        ApiKey::EndTxn => respond(
            &EndTxnResponse::default().with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ),
        ApiKey::TxnOffsetCommit => {
            let commit: TxnOffsetCommitRequest = request.decode()?;
            let mut refused = TxnOffsetCommitResponse::default();
            refused.topics = commit
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer =
                        txn_offset_commit_response::TxnOffsetCommitResponseTopic::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
                        })
                        .collect();
                    answer.name = topic.name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::Fetch => {
            let fetch: FetchRequest = request.decode()?;
            let mut refused = FetchResponse::default();
            refused.responses = fetch
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer = fetch_response::FetchableTopicResponse::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut partition = fetch_response::PartitionData::default();
                            partition.partition_index = p.partition;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.high_watermark = -1;
                            partition.last_stable_offset = -1;
                            partition.log_start_offset = -1;
                            partition.records = Some(Bytes::new());
                            partition
                        })
                        .collect();
                    answer.topic = topic.topic;
                    answer.topic_id = topic.topic_id;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::ListOffsets => {
            let list: ListOffsetsRequest = request.decode()?;
            let mut refused = ListOffsetsResponse::default();
            refused.topics = list
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer = list_offsets_response::ListOffsetsTopicResponse::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut partition =
                                list_offsets_response::ListOffsetsPartitionResponse::default();
                            partition.partition_index = p.partition_index;
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
        ApiKey::OffsetForLeaderEpoch => {
            let epochs: OffsetForLeaderEpochRequest = request.decode()?;
            let mut refused = OffsetForLeaderEpochResponse::default();
            refused.topics = epochs
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer =
                        offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            let mut partition =
                                offset_for_leader_epoch_response::EpochEndOffset::default();
                            partition.partition = p.partition;
                            partition.error_code = TOPIC_AUTHORIZATION_FAILED;
                            partition.end_offset = -1;
                            partition.leader_epoch = -1;
                            partition
                        })
                        .collect();
                    answer.topic = topic.topic;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::OffsetCommit => {
            let commit: OffsetCommitRequest = request.decode()?;
            let mut refused = OffsetCommitResponse::default();
            refused.topics = commit
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer = offset_commit_response::OffsetCommitResponseTopic::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            offset_commit_response::OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(GROUP_AUTHORIZATION_FAILED)
                        })
                        .collect();
                    answer.name = topic.name;
                    answer.topic_id = topic.topic_id;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::OffsetFetch => {
            let fetch: OffsetFetchRequest = request.decode()?;
            let mut refused = OffsetFetchResponse::default();
            match request.version {
                // v1 has no error but the partitions'.
                1 => {
                    refused.topics = fetch
                        .topics
                        .into_iter()
                        .flatten()
                        .map(|topic| {
                            let mut answer =
                                offset_fetch_response::OffsetFetchResponseTopic::default();
                            answer.partitions = topic
                                .partition_indexes
                                .iter()
                                .map(|&index| {
                                    let mut partition =
                                        offset_fetch_response::OffsetFetchResponsePartition::default();
                                    partition.partition_index = index;
                                    partition.committed_offset = -1;
                                    partition.error_code = GROUP_AUTHORIZATION_FAILED;
                                    partition
                                })
                                .collect();
                            answer.name = topic.name;
                            answer
                        })
                        .collect();
                }
                2..=7 => refused.error_code = GROUP_AUTHORIZATION_FAILED,
                _ => {
                    refused.groups = fetch
                        .groups
                        .into_iter()
                        .map(|group| {
                            offset_fetch_response::OffsetFetchResponseGroup::default()
                                .with_group_id(group.group_id)
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
            let metadata: MetadataRequest = request.decode()?;
            let mut refused = MetadataResponse::default();
            refused.topics = metadata
                .topics
                .into_iter()
                .flatten()
                .map(|topic| {
                    let mut answer = metadata_response::MetadataResponseTopic::default();
                    answer.error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer.name = topic.name;
                    answer.topic_id = topic.topic_id;
                    answer
                })
                .collect();
            refused.controller_id = BrokerId(-1);
            respond(&refused)
        }
        ApiKey::FindCoordinator => {
            let find: FindCoordinatorRequest = request.decode()?;
            let code = if find.key_type == 1 {
                TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            } else {
                GROUP_AUTHORIZATION_FAILED
            };
            let mut refused = FindCoordinatorResponse::default();
            if request.version < 4 {
                refused.error_code = code;
                refused.node_id = BrokerId(-1);
                refused.port = -1;
            } else {
                refused.coordinators = find
                    .coordinator_keys
                    .into_iter()
                    .map(|key| {
                        let mut answer = find_coordinator_response::Coordinator::default();
                        answer.key = key;
                        answer.error_code = code;
                        answer.node_id = BrokerId(-1);
                        answer.port = -1;
                        answer
                    })
                    .collect();
            }
            respond(&refused)
        }
        ApiKey::DescribeCluster => respond(
            &DescribeClusterResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                .with_controller_id(BrokerId(-1)),
        ),
        ApiKey::DescribeConfigs => {
            let describe: DescribeConfigsRequest = request.decode()?;
            let mut refused = DescribeConfigsResponse::default();
            refused.results = describe
                .resources
                .into_iter()
                .map(|resource| {
                    let mut answer = describe_configs_response::DescribeConfigsResult::default();
                    answer.error_code = config_error(resource.resource_type);
                    answer.resource_type = resource.resource_type;
                    answer.resource_name = resource.resource_name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::AlterConfigs => {
            let alter: AlterConfigsRequest = request.decode()?;
            let mut refused = AlterConfigsResponse::default();
            refused.responses = alter
                .resources
                .into_iter()
                .map(|resource| {
                    let mut answer =
                        alter_configs_response::AlterConfigsResourceResponse::default();
                    answer.error_code = config_error(resource.resource_type);
                    answer.resource_type = resource.resource_type;
                    answer.resource_name = resource.resource_name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::IncrementalAlterConfigs => {
            let alter: IncrementalAlterConfigsRequest = request.decode()?;
            let mut refused = IncrementalAlterConfigsResponse::default();
            refused.responses = alter
                .resources
                .into_iter()
                .map(|resource| {
                    let mut answer =
                        incremental_alter_configs_response::AlterConfigsResourceResponse::default();
                    answer.error_code = config_error(resource.resource_type);
                    answer.resource_type = resource.resource_type;
                    answer.resource_name = resource.resource_name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DescribeGroups => {
            let describe: DescribeGroupsRequest = request.decode()?;
            let mut refused = DescribeGroupsResponse::default();
            refused.groups = describe
                .groups
                .into_iter()
                .map(|group| {
                    describe_groups_response::DescribedGroup::default()
                        .with_group_id(group)
                        .with_error_code(GROUP_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::ListGroups => {
            respond(&ListGroupsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED))
        }
        ApiKey::ConsumerGroupDescribe => {
            let describe: ConsumerGroupDescribeRequest = request.decode()?;
            let mut refused = ConsumerGroupDescribeResponse::default();
            refused.groups = describe
                .group_ids
                .into_iter()
                .map(|group| {
                    consumer_group_describe_response::DescribedGroup::default()
                        .with_group_id(group)
                        .with_error_code(GROUP_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DescribeTopicPartitions => {
            let describe: DescribeTopicPartitionsRequest = request.decode()?;
            let mut refused = DescribeTopicPartitionsResponse::default();
            refused.topics = describe
                .topics
                .into_iter()
                .map(|topic| {
                    describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(topic.name))
                        .with_error_code(TOPIC_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::CreateTopics => {
            let create: CreateTopicsRequest = request.decode()?;
            let mut refused = CreateTopicsResponse::default();
            refused.topics = create
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer = create_topics_response::CreatableTopicResult::default();
                    answer.name = topic.name;
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
            let delete: DeleteTopicsRequest = request.decode()?;
            let mut refused = DeleteTopicsResponse::default();
            let named = delete.topic_names.into_iter().map(|name| (Some(name), Default::default()));
            let stated = delete.topics.into_iter().map(|topic| (topic.name, topic.topic_id));
            refused.responses = named
                .chain(stated)
                .map(|(name, topic_id)| {
                    let mut answer = delete_topics_response::DeletableTopicResult::default();
                    answer.name = name;
                    answer.topic_id = topic_id;
                    answer.error_code = TOPIC_AUTHORIZATION_FAILED;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DeleteRecords => {
            let delete: DeleteRecordsRequest = request.decode()?;
            let mut refused = DeleteRecordsResponse::default();
            refused.topics = delete
                .topics
                .into_iter()
                .map(|topic| {
                    let mut answer = delete_records_response::DeleteRecordsTopicResult::default();
                    answer.partitions = topic
                        .partitions
                        .iter()
                        .map(|p| {
                            delete_records_response::DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index)
                                .with_low_watermark(-1)
                                .with_error_code(TOPIC_AUTHORIZATION_FAILED)
                        })
                        .collect();
                    answer.name = topic.name;
                    answer
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DeleteGroups => {
            let delete: DeleteGroupsRequest = request.decode()?;
            let mut refused = DeleteGroupsResponse::default();
            refused.results = delete
                .groups_names
                .into_iter()
                .map(|group| {
                    delete_groups_response::DeletableGroupResult::default()
                        .with_group_id(group)
                        .with_error_code(GROUP_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::CreateAcls => {
            let create: CreateAclsRequest = request.decode()?;
            let mut refused = CreateAclsResponse::default();
            refused.results = create
                .creations
                .iter()
                .map(|_| {
                    create_acls_response::AclCreationResult::default()
                        .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DeleteAcls => {
            let delete: DeleteAclsRequest = request.decode()?;
            let mut refused = DeleteAclsResponse::default();
            refused.filter_results = delete
                .filters
                .iter()
                .map(|_| {
                    delete_acls_response::DeleteAclsFilterResult::default()
                        .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::DescribeAcls => {
            respond(&DescribeAclsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED))
        }
        ApiKey::DescribeUserScramCredentials => respond(
            &DescribeUserScramCredentialsResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        ApiKey::AlterUserScramCredentials => {
            let alter: AlterUserScramCredentialsRequest = request.decode()?;
            let users = alter
                .deletions
                .into_iter()
                .map(|d| d.name)
                .chain(alter.upsertions.into_iter().map(|u| u.name));
            let mut refused = AlterUserScramCredentialsResponse::default();
            refused.results = users
                .map(|user| {
                    alter_user_scram_credentials_response::AlterUserScramCredentialsResult::default(
                    )
                    .with_user(user)
                    .with_error_code(CLUSTER_AUTHORIZATION_FAILED)
                })
                .collect();
            respond(&refused)
        }
        ApiKey::ListPartitionReassignments => respond(
            &ListPartitionReassignmentsResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        api => return Err(ProxyError::NotServed(api)),
    };
    reply.map(Some)
}

fn config_error(resource_type: i8) -> i16 {
    match resource_type {
        CONFIG_TOPIC => TOPIC_AUTHORIZATION_FAILED,
        CONFIG_GROUP => GROUP_AUTHORIZATION_FAILED,
        _ => CLUSTER_AUTHORIZATION_FAILED,
    }
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
