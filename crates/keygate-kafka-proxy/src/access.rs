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
    /// Commit a consumer group's offsets inside a transaction: `produce` and `consume` both,
    /// as Kafka asks for WRITE on the transactional id and READ on the group.
    CommitInTransaction,
}

impl Operation {
    /// The operation of `api`, or `None` for an API the proxy does not serve (refused).
    /// ApiVersions, SaslHandshake and SaslAuthenticate are the proxy's own and are not here.
    pub fn of(api: ApiKey) -> Option<Operation> {
        TABLE.iter().find(|(key, _)| *key == api).map(|&(_, operation)| operation)
    }

    /// The permissions it needs, all of them.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Operation::Produce => &[Permission::PRODUCE],
            Operation::Consume => &[Permission::CONSUME],
            Operation::Describe => &[Permission::DESCRIBE],
            Operation::Admin => &[Permission::ADMIN],
            Operation::CommitInTransaction => &[Permission::PRODUCE, Permission::CONSUME],
        }
    }

    /// What the crate docs' table and the log call it: the permissions, joined by `+`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Produce => "produce",
            Operation::Consume => "consume",
            Operation::Describe => "describe",
            Operation::Admin => "admin",
            Operation::CommitInTransaction => "produce+consume",
        }
    }

    /// Whether `identity`'s key may do it. As Kafka's WRITE, READ and ALTER imply DESCRIBE, a
    /// key that may produce, consume or administer may also describe: a produce-only key must
    /// be able to fetch metadata to find its partitions.
    pub fn granted(self, identity: &Identity) -> bool {
        if self.permissions().iter().all(|needed| identity.permits(needed)) {
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
    (ApiKey::EndTxn, Operation::Produce),
    (ApiKey::AddOffsetsToTxn, Operation::CommitInTransaction),
    (ApiKey::TxnOffsetCommit, Operation::CommitInTransaction),
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
    (ApiKey::DescribeLogDirs, Operation::Describe),
    (ApiKey::DescribeClientQuotas, Operation::Describe),
    (ApiKey::DescribeTransactions, Operation::Describe),
    (ApiKey::ListTransactions, Operation::Describe),
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
    (ApiKey::CreatePartitions, Operation::Admin),
    (ApiKey::ElectLeaders, Operation::Admin),
    (ApiKey::AlterPartitionReassignments, Operation::Admin),
    (ApiKey::AlterClientQuotas, Operation::Admin),
];

/// The lowest version the proxy offers of `api`, where it is above what the codec's
/// `ApiKey::valid_versions` says: Metadata below v4 has no `allow_auto_topic_creation`, and a
/// broker creates every topic such a request names when auto-creation is on (its default), so
/// a key that may only describe could create topics. From v4 the proxy clears the flag unless
/// the key may `admin`.
pub(crate) fn version_floor(api: ApiKey) -> Option<i16> {
    match api {
        ApiKey::Metadata => Some(4),
        _ => None,
    }
}

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

    /// The table in the crate docs is this one: each permission's row lists exactly its APIs,
    /// in this order.
    #[test]
    fn the_crate_docs_print_this_table() {
        let docs = include_str!("lib.rs");
        for operation in [
            Operation::Produce,
            Operation::Consume,
            Operation::Describe,
            Operation::Admin,
            Operation::CommitInTransaction,
        ] {
            let apis: Vec<String> = TABLE
                .iter()
                .filter(|(_, op)| *op == operation)
                .map(|(api, _)| format!("{api:?}"))
                .collect();
            let row = format!("//! | `{}` | {} |", operation.as_str(), apis.join(", "));
            assert!(docs.contains(&row), "the crate docs lack the row\n{row}");
        }
    }

    #[test]
    fn broker_to_broker_apis_are_refused() {
        for api in [ApiKey::WriteTxnMarkers, ApiKey::Vote, ApiKey::AlterReplicaLogDirs] {
            assert_eq!(Operation::of(api), None);
        }
    }
}
