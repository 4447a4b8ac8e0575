//! Which Kafka APIs the proxy serves, and which permission each needs.

use kafka_protocol::messages::ApiKey;
use keygate::Identity;
use keygate::core::Permission;

/// What a request does, in the vocabulary of key permissions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Write records: `produce`.
    Produce,
    /// Read records and manage consumer groups and their offsets: `consume`.
    Consume,
    /// Read metadata and configuration: `describe`, which `produce`, `consume` and `admin`
    /// imply.
    Describe,
    /// Change topics, configuration, ACLs and credentials: `admin`.
    Admin,
}

impl Operation {
    /// The operation of `api`, or `None` for an API the proxy does not serve (refused).
    /// ApiVersions, SaslHandshake and SaslAuthenticate are the proxy's own and are not here.
    pub fn of(api: ApiKey) -> Option<Operation> {
        TABLE.iter().find(|(key, _)| *key == api).map(|&(_, operation)| operation)
    }

    /// The permission it is.
    pub fn permission(self) -> Permission {
        match self {
            Operation::Produce => Permission::PRODUCE,
            Operation::Consume => Permission::CONSUME,
            Operation::Describe => Permission::DESCRIBE,
            Operation::Admin => Permission::ADMIN,
        }
    }

    /// Whether `identity`'s key may do it. As Kafka's WRITE, READ and ALTER imply DESCRIBE, a
    /// key that may produce, consume or administer may also describe: a produce-only key must
    /// be able to fetch metadata to find its partitions.
    pub fn granted(self, identity: &Identity) -> bool {
        if identity.permits(&self.permission()) {
            return true;
        }
        self == Operation::Describe
            && [Permission::PRODUCE, Permission::CONSUME, Permission::ADMIN]
                .iter()
                .any(|implied| identity.permits(implied))
    }
}

/// Every API the proxy forwards, with the permission it needs. The crate docs print this table;
/// keep the two in step.
pub(crate) const TABLE: &[(ApiKey, Operation)] = &[
    (ApiKey::Produce, Operation::Produce),
    (ApiKey::InitProducerId, Operation::Produce),
    (ApiKey::AddPartitionsToTxn, Operation::Produce),
    (ApiKey::AddOffsetsToTxn, Operation::Produce),
    (ApiKey::EndTxn, Operation::Produce),
    (ApiKey::TxnOffsetCommit, Operation::Produce),
    (ApiKey::Fetch, Operation::Consume),
    (ApiKey::ListOffsets, Operation::Consume),
    (ApiKey::OffsetForLeaderEpoch, Operation::Consume),
    (ApiKey::OffsetCommit, Operation::Consume),
    (ApiKey::OffsetFetch, Operation::Consume),
    (ApiKey::OffsetDelete, Operation::Consume),
    (ApiKey::JoinGroup, Operation::Consume),
    (ApiKey::SyncGroup, Operation::Consume),
    (ApiKey::Heartbeat, Operation::Consume),
    (ApiKey::LeaveGroup, Operation::Consume),
    (ApiKey::ConsumerGroupHeartbeat, Operation::Consume),
    (ApiKey::Metadata, Operation::Describe),
    (ApiKey::FindCoordinator, Operation::Describe),
    (ApiKey::DescribeCluster, Operation::Describe),
    (ApiKey::DescribeConfigs, Operation::Describe),
    (ApiKey::DescribeGroups, Operation::Describe),
    (ApiKey::ListGroups, Operation::Describe),
    (ApiKey::ConsumerGroupDescribe, Operation::Describe),
    (ApiKey::DescribeTopicPartitions, Operation::Describe),
    (ApiKey::CreateTopics, Operation::Admin),
    (ApiKey::DeleteTopics, Operation::Admin),
    (ApiKey::DeleteRecords, Operation::Admin),
    (ApiKey::DeleteGroups, Operation::Admin),
    (ApiKey::AlterConfigs, Operation::Admin),
    (ApiKey::IncrementalAlterConfigs, Operation::Admin),
    (ApiKey::CreateAcls, Operation::Admin),
    (ApiKey::DeleteAcls, Operation::Admin),
    (ApiKey::DescribeAcls, Operation::Admin),
    (ApiKey::DescribeUserScramCredentials, Operation::Admin),
    (ApiKey::AlterUserScramCredentials, Operation::Admin),
    (ApiKey::ListPartitionReassignments, Operation::Admin),
];

/// The highest version the proxy offers of `api`, where it is below what the codec's
/// `ApiKey::valid_versions` says:
/// - Produce v10 and Fetch v16 added `node_endpoints` (KIP-951): broker addresses in responses
///   that the proxy passes through unread, which would lead clients around it.
/// - InitProducerId v6, OffsetCommit v10 and OffsetFetch v10 are in that list but not in the
///   request codecs (kafka-protocol 0.18), so the proxy could not refuse them.
pub(crate) fn version_cap(api: ApiKey) -> Option<i16> {
    match api {
        ApiKey::Produce | ApiKey::OffsetCommit | ApiKey::OffsetFetch => Some(9),
        ApiKey::Fetch => Some(15),
        ApiKey::InitProducerId => Some(5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_has_one_operation() {
        for (at, (api, _)) in TABLE.iter().enumerate() {
            assert!(!TABLE[at + 1..].iter().any(|(other, _)| other == api), "{api:?} twice");
        }
    }

    #[test]
    fn the_proxy_s_own_apis_are_not_forwarded() {
        for api in [ApiKey::ApiVersions, ApiKey::SaslHandshake, ApiKey::SaslAuthenticate] {
            assert_eq!(Operation::of(api), None);
        }
    }

    #[test]
    fn broker_to_broker_apis_are_refused() {
        for api in [ApiKey::WriteTxnMarkers, ApiKey::Vote, ApiKey::AlterReplicaLogDirs] {
            assert_eq!(Operation::of(api), None);
        }
    }
}
