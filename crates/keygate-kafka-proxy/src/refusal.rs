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
        ApiKey::AddPartitionsToTxn => {
            // The response's own error exists from v4; before, only per-partition ones.
            let mut refused = AddPartitionsToTxnResponse::default();
            if version >= 4 {
                refused.error_code = TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
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
        ApiKey::TxnOffsetCommit => respond(&TxnOffsetCommitResponse::default()),
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
        ApiKey::OffsetForLeaderEpoch => respond(&OffsetForLeaderEpochResponse::default()),
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
        ApiKey::DescribeConfigs => respond(&DescribeConfigsResponse::default()),
        ApiKey::AlterConfigs => respond(&AlterConfigsResponse::default()),
        ApiKey::IncrementalAlterConfigs => respond(&IncrementalAlterConfigsResponse::default()),
        ApiKey::DescribeGroups => respond(&DescribeGroupsResponse::default()),
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
        ApiKey::DeleteRecords => respond(&DeleteRecordsResponse::default()),
        ApiKey::DeleteGroups => respond(&DeleteGroupsResponse::default()),
        ApiKey::CreateAcls => respond(&CreateAclsResponse::default()),
        ApiKey::DeleteAcls => respond(&DeleteAclsResponse::default()),
        ApiKey::DescribeAcls => {
            respond(&DescribeAclsResponse::default().with_error_code(CLUSTER_AUTHORIZATION_FAILED))
        }
        ApiKey::DescribeUserScramCredentials => respond(
            &DescribeUserScramCredentialsResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        ApiKey::AlterUserScramCredentials => respond(&AlterUserScramCredentialsResponse::default()),
        ApiKey::ListPartitionReassignments => respond(
            &ListPartitionReassignmentsResponse::default()
                .with_error_code(CLUSTER_AUTHORIZATION_FAILED),
        ),
        api => return Err(ProxyError::NotServed(api)),
    };
    reply.map(Some)
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
