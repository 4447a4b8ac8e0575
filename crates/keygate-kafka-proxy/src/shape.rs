//! What a refusal must name, read from a client's request without trusting its counts.
//!
//! kafka-protocol's decoders reserve room for as many elements as an array's length prefix
//! claims before reading any of them, so a few bytes claiming two billion topics abort the
//! process when the allocation fails (an abort, not a panic: nothing can catch it). Requests
//! that reach the proxy from clients are therefore never decoded with kafka-protocol unless
//! they hold no array at all. The readers here walk only the fields a refusal names (topics,
//! partitions) and check every length against the bytes that are left, so memory follows what
//! the client actually sent.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::ProxyError;

/// A topic a request names, by name or (in newer versions) by id, with its partitions.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Topic {
    pub(crate) name: TopicName,
    pub(crate) id: Uuid,
    pub(crate) partitions: Vec<i32>,
}

/// A topic named by name, id or both, as DeleteTopics and Metadata name them.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TopicRef {
    pub(crate) name: Option<TopicName>,
    pub(crate) id: Uuid,
}

/// Produce v3 to v9: `acks` and the topics and partitions written to.
pub(crate) fn produce(body: &Bytes, version: i16) -> Result<(i16, Vec<Topic>), ProxyError> {
    let mut r = Reader::new(body, version >= 9);
    r.nullable_string()?; // transactional_id
    let acks = r.i16()?;
    r.skip(4)?; // timeout_ms
    let topics = r.array(|r| {
        let name = r.topic_name()?;
        let partitions = r.array(|r| {
            let index = r.i32()?;
            r.nullable_bytes()?; // records
            r.tagged_fields()?;
            Ok(index)
        })?;
        r.tagged_fields()?;
        Ok(Topic { name, id: Uuid::nil(), partitions })
    })?;
    Ok((acks, topics))
}

/// Fetch v4 to v15: the topics (by name to v12, by id from v13) and partitions read.
pub(crate) fn fetch(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 12);
    if version <= 14 {
        r.skip(4)?; // replica_id
    }
    r.skip(4 + 4 + 4 + 1)?; // max_wait_ms, min_bytes, max_bytes, isolation_level
    if version >= 7 {
        r.skip(4 + 4)?; // session_id, session_epoch
    }
    r.array(|r| {
        let (name, id) = if version <= 12 {
            (r.topic_name()?, Uuid::nil())
        } else {
            (TopicName::default(), r.uuid()?)
        };
        let partitions = r.array(|r| {
            let partition = r.i32()?;
            if version >= 9 {
                r.skip(4)?; // current_leader_epoch
            }
            r.skip(8)?; // fetch_offset
            if version >= 12 {
                r.skip(4)?; // last_fetched_epoch
            }
            if version >= 5 {
                r.skip(8)?; // log_start_offset
            }
            r.skip(4)?; // partition_max_bytes
            r.tagged_fields()?;
            Ok(partition)
        })?;
        r.tagged_fields()?;
        Ok(Topic { name, id, partitions })
    })
}

/// ListOffsets v1 to v10: the topics and partitions asked about.
pub(crate) fn list_offsets(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 6);
    r.skip(4)?; // replica_id
    if version >= 2 {
        r.skip(1)?; // isolation_level
    }
    r.array(|r| {
        let name = r.topic_name()?;
        let partitions = r.array(|r| {
            let partition = r.i32()?;
            if version >= 4 {
                r.skip(4)?; // current_leader_epoch
            }
            r.skip(8)?; // timestamp
            r.tagged_fields()?;
            Ok(partition)
        })?;
        r.tagged_fields()?;
        Ok(Topic { name, id: Uuid::nil(), partitions })
    })
}

/// OffsetCommit v2 to v9: the topics and partitions whose offsets were to be committed.
pub(crate) fn offset_commit(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 8);
    r.string()?; // group_id
    r.skip(4)?; // generation_id_or_member_epoch
    r.string()?; // member_id
    if version >= 7 {
        r.nullable_string()?; // group_instance_id
    }
    if version <= 4 {
        r.skip(8)?; // retention_time_ms
    }
    r.array(|r| {
        let name = r.topic_name()?;
        let partitions = r.array(|r| {
            let partition = r.i32()?;
            r.skip(8)?; // committed_offset
            if version >= 6 {
                r.skip(4)?; // committed_leader_epoch
            }
            r.nullable_string()?; // committed_metadata
            r.tagged_fields()?;
            Ok(partition)
        })?;
        r.tagged_fields()?;
        Ok(Topic { name, id: Uuid::nil(), partitions })
    })
}

/// OffsetFetch v8 and later: the groups whose offsets were asked for.
pub(crate) fn offset_fetch_groups(body: &Bytes, version: i16) -> Result<Vec<GroupId>, ProxyError> {
    let mut r = Reader::new(body, true);
    r.array(|r| {
        let group = GroupId(r.string()?);
        if version >= 9 {
            r.nullable_string()?; // member_id
            r.skip(4)?; // member_epoch
        }
        r.nullable_array(|r| {
            if version >= 10 {
                r.skip(16)?
            } else {
                r.string().map(drop)?
            } // topic id or name
            r.array(|r| r.skip(4))?; // partition_indexes
            r.tagged_fields()
        })?;
        r.tagged_fields()?;
        Ok(group)
    })
}

/// CreateTopics v2 to v7: the topics to create.
pub(crate) fn create_topics(body: &Bytes, version: i16) -> Result<Vec<TopicName>, ProxyError> {
    let mut r = Reader::new(body, version >= 5);
    r.array(|r| {
        let name = r.topic_name()?;
        r.skip(4 + 2)?; // num_partitions, replication_factor
        r.array(|r| {
            r.skip(4)?; // partition_index
            r.array(|r| r.skip(4))?; // broker_ids
            r.tagged_fields()
        })?;
        r.array(|r| {
            r.string()?; // name
            r.nullable_string()?; // value
            r.tagged_fields()
        })?;
        r.tagged_fields()?;
        Ok(name)
    })
}

/// DeleteTopics v1 to v6: the topics to delete, by name (and from v6 by id).
pub(crate) fn delete_topics(body: &Bytes, version: i16) -> Result<Vec<TopicRef>, ProxyError> {
    let mut r = Reader::new(body, version >= 4);
    if version >= 6 {
        r.array(|r| {
            let name = r.nullable_string()?.map(TopicName);
            let id = r.uuid()?;
            r.tagged_fields()?;
            Ok(TopicRef { name, id })
        })
    } else {
        r.array(|r| Ok(TopicRef { name: Some(r.topic_name()?), id: Uuid::nil() }))
    }
}

/// Metadata v0 to v13: the topics asked about, or `None` for all of them.
pub(crate) fn metadata(body: &Bytes, version: i16) -> Result<Option<Vec<TopicRef>>, ProxyError> {
    let mut r = Reader::new(body, version >= 9);
    metadata_topics(&mut r, version)
}

/// Metadata v4 and later: where in the body `allow_auto_topic_creation` is, the byte that asks
/// the broker to create the topics it names. `None` before v4, which has no such field.
pub(crate) fn metadata_auto_create_at(
    body: &Bytes,
    version: i16,
) -> Result<Option<usize>, ProxyError> {
    if version < 4 {
        return Ok(None);
    }
    let mut r = Reader::new(body, version >= 9);
    metadata_topics(&mut r, version)?;
    r.skip(1)?;
    Ok(Some(r.at - 1))
}

fn metadata_topics(r: &mut Reader<'_>, version: i16) -> Result<Option<Vec<TopicRef>>, ProxyError> {
    let topic = |r: &mut Reader<'_>| {
        let id = if version >= 10 { r.uuid()? } else { Uuid::nil() };
        let name = if version >= 10 { r.nullable_string()? } else { Some(r.string()?) };
        r.tagged_fields()?;
        Ok(TopicRef { name: name.map(TopicName), id })
    };
    if version == 0 { r.array(topic).map(Some) } else { r.nullable_array(topic) }
}

/// How many ACLs a CreateAcls v1 to v3 request asked for.
pub(crate) fn create_acls(body: &Bytes, version: i16) -> Result<usize, ProxyError> {
    let mut r = Reader::new(body, version >= 2);
    let creations = r.array(|r| {
        r.skip(1)?; // resource_type
        r.string()?; // resource_name
        r.skip(1)?; // resource_pattern_type
        r.string()?; // principal
        r.string()?; // host
        r.skip(2)?; // operation, permission_type
        r.tagged_fields()
    })?;
    Ok(creations.len())
}

/// How many filters a DeleteAcls v1 to v3 request gave.
pub(crate) fn delete_acls(body: &Bytes, version: i16) -> Result<usize, ProxyError> {
    let mut r = Reader::new(body, version >= 2);
    let filters = r.array(|r| {
        r.skip(1)?; // resource_type_filter
        r.nullable_string()?; // resource_name_filter
        r.skip(1)?; // pattern_type_filter
        r.nullable_string()?; // principal_filter
        r.nullable_string()?; // host_filter
        r.skip(2)?; // operation, permission_type
        r.tagged_fields()
    })?;
    Ok(filters.len())
}

/// The groups of a DeleteGroups v0 to v2 or a DescribeGroups v0 to v6 request: an array of
/// names first in both.
pub(crate) fn groups(body: &Bytes, flexible: bool) -> Result<Vec<GroupId>, ProxyError> {
    let mut r = Reader::new(body, flexible);
    r.array(|r| r.string().map(GroupId))
}

/// DeleteRecords v0 to v2: the topics and partitions to truncate.
pub(crate) fn delete_records(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 2);
    topics(&mut r, |r| {
        let partition = r.i32()?;
        r.skip(8)?; // offset
        r.tagged_fields()?;
        Ok(partition)
    })
}

/// The resources (type and name) of an AlterConfigs v0 to v2, IncrementalAlterConfigs v0 to v1
/// or DescribeConfigs v1 to v4 request.
pub(crate) fn config_resources(
    api: ApiKey,
    body: &Bytes,
    version: i16,
) -> Result<Vec<(i8, StrBytes)>, ProxyError> {
    let flexible = match api {
        ApiKey::IncrementalAlterConfigs => version >= 1,
        ApiKey::AlterConfigs => version >= 2,
        _ => version >= 4,
    };
    let mut r = Reader::new(body, flexible);
    r.array(|r| {
        let kind = r.i8()?;
        let name = r.string()?;
        match api {
            ApiKey::DescribeConfigs => drop(r.nullable_array(|r| r.string().map(drop))?),
            _ => drop(r.array(|r| {
                r.string()?; // name
                if api == ApiKey::IncrementalAlterConfigs {
                    r.skip(1)?; // config_operation
                }
                r.nullable_string()?; // value
                r.tagged_fields()
            })?),
        }
        r.tagged_fields()?;
        Ok((kind, name))
    })
}

/// AlterUserScramCredentials v0: each user named, once, deletions first.
pub(crate) fn scram_users_altered(body: &Bytes) -> Result<Vec<StrBytes>, ProxyError> {
    let mut r = Reader::new(body, true);
    let mut users = r.array(|r| {
        let user = r.string()?;
        r.skip(1)?; // mechanism
        r.tagged_fields()?;
        Ok(user)
    })?;
    users.extend(r.array(|r| {
        let user = r.string()?;
        r.skip(1 + 4)?; // mechanism, iterations
        r.nullable_bytes()?; // salt
        r.nullable_bytes()?; // salted_password
        r.tagged_fields()?;
        Ok(user)
    })?);
    let mut seen = std::collections::HashSet::new();
    users.retain(|user| seen.insert(user.clone()));
    Ok(users)
}

/// DescribeUserScramCredentials v0: the users asked about, or `None` for all.
pub(crate) fn scram_users_described(body: &Bytes) -> Result<Option<Vec<StrBytes>>, ProxyError> {
    let mut r = Reader::new(body, true);
    r.nullable_array(|r| {
        let user = r.string()?;
        r.tagged_fields()?;
        Ok(user)
    })
}

/// TxnOffsetCommit v0 to v5: the topics and partitions whose offsets were to be committed.
pub(crate) fn txn_offset_commit(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 3);
    r.string()?; // transactional_id
    r.string()?; // group_id
    r.skip(8 + 2)?; // producer_id, producer_epoch
    if version >= 3 {
        r.skip(4)?; // generation_id
        r.string()?; // member_id
        r.nullable_string()?; // group_instance_id
    }
    topics(&mut r, |r| {
        let partition = r.i32()?;
        r.skip(8)?; // committed_offset
        if version >= 2 {
            r.skip(4)?; // committed_leader_epoch
        }
        r.nullable_string()?; // committed_metadata
        r.tagged_fields()?;
        Ok(partition)
    })
}

/// AddPartitionsToTxn v0 to v3: the topics and partitions to add.
pub(crate) fn add_partitions_to_txn(body: &Bytes, version: i16) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 3);
    r.string()?; // transactional_id
    r.skip(8 + 2)?; // producer_id, producer_epoch
    topics(&mut r, Reader::i32)
}

/// OffsetForLeaderEpoch v2 to v4: the topics and partitions asked about.
pub(crate) fn offset_for_leader_epoch(
    body: &Bytes,
    version: i16,
) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, version >= 4);
    if version >= 3 {
        r.skip(4)?; // replica_id
    }
    topics(&mut r, |r| {
        let partition = r.i32()?;
        r.skip(4 + 4)?; // current_leader_epoch, leader_epoch
        r.tagged_fields()?;
        Ok(partition)
    })
}

/// CreatePartitions v0 to v3: the topics to grow.
pub(crate) fn create_partitions(body: &Bytes, version: i16) -> Result<Vec<TopicName>, ProxyError> {
    let mut r = Reader::new(body, version >= 2);
    r.array(|r| {
        let name = r.topic_name()?;
        r.skip(4)?; // count
        r.nullable_array(|r| {
            r.array(|r| r.skip(4))?; // broker_ids
            r.tagged_fields()
        })?;
        r.tagged_fields()?;
        Ok(name)
    })
}

/// ElectLeaders v0 to v2: the topics and partitions, or `None` for every partition.
pub(crate) fn elect_leaders(body: &Bytes, version: i16) -> Result<Option<Vec<Topic>>, ProxyError> {
    let mut r = Reader::new(body, version >= 2);
    if version >= 1 {
        r.skip(1)?; // election_type
    }
    r.nullable_array(|r| {
        let name = r.topic_name()?;
        let partitions = r.array(Reader::i32)?;
        r.tagged_fields()?;
        Ok(Topic { name, id: Uuid::nil(), partitions })
    })
}

/// AlterPartitionReassignments v0 to v1: the topics and partitions to move.
pub(crate) fn alter_partition_reassignments(
    body: &Bytes,
    version: i16,
) -> Result<Vec<Topic>, ProxyError> {
    let mut r = Reader::new(body, true);
    r.skip(4)?; // timeout_ms
    if version >= 1 {
        r.skip(1)?; // allow_replication_factor_change
    }
    topics(&mut r, |r| {
        let partition = r.i32()?;
        r.nullable_array(|r| r.skip(4))?; // replicas
        r.tagged_fields()?;
        Ok(partition)
    })
}

/// An entity of a client quota: its type and name (`None` for the default).
pub(crate) type QuotaEntity = Vec<(StrBytes, Option<StrBytes>)>;

/// AlterClientQuotas v0 to v1: the entity of each entry.
pub(crate) fn alter_client_quotas(
    body: &Bytes,
    version: i16,
) -> Result<Vec<QuotaEntity>, ProxyError> {
    let mut r = Reader::new(body, version >= 1);
    r.array(|r| {
        let entity = r.array(|r| {
            let kind = r.string()?;
            let name = r.nullable_string()?;
            r.tagged_fields()?;
            Ok((kind, name))
        })?;
        r.array(|r| {
            r.string()?; // key
            r.skip(8 + 1)?; // value, remove
            r.tagged_fields()
        })?;
        r.tagged_fields()?;
        Ok(entity)
    })
}

/// DescribeTransactions v0: the transactional ids asked about.
pub(crate) fn transactional_ids(body: &Bytes) -> Result<Vec<StrBytes>, ProxyError> {
    let mut r = Reader::new(body, true);
    r.array(Reader::string)
}

/// An array of topics, each a name and its partitions read by `partition`, as most requests
/// that name partitions lay them out.
fn topics<'a>(
    r: &mut Reader<'a>,
    mut partition: impl FnMut(&mut Reader<'a>) -> Result<i32, ProxyError>,
) -> Result<Vec<Topic>, ProxyError> {
    r.array(|r| {
        let name = r.topic_name()?;
        let partitions = r.array(&mut partition)?;
        r.tagged_fields()?;
        Ok(Topic { name, id: Uuid::nil(), partitions })
    })
}

/// Reads Kafka's primitive types, refusing any length the rest of the body cannot hold.
struct Reader<'a> {
    body: &'a Bytes,
    at: usize,
    /// Whether the version is flexible: compact lengths and tagged fields.
    flexible: bool,
}

impl<'a> Reader<'a> {
    fn new(body: &'a Bytes, flexible: bool) -> Reader<'a> {
        Reader { body, at: 0, flexible }
    }

    fn left(&self) -> usize {
        self.body.len() - self.at
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProxyError> {
        let body: &'a [u8] = self.body;
        let taken = body.get(self.at..self.at.checked_add(n).ok_or(SHORT)?).ok_or(SHORT)?;
        self.at += n;
        Ok(taken)
    }

    fn skip(&mut self, n: usize) -> Result<(), ProxyError> {
        self.take(n).map(drop)
    }

    fn i8(&mut self) -> Result<i8, ProxyError> {
        Ok(i8::from_be_bytes([self.take(1)?[0]]))
    }

    fn i16(&mut self) -> Result<i16, ProxyError> {
        let bytes = self.take(2)?;
        Ok(i16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn i32(&mut self) -> Result<i32, ProxyError> {
        let bytes = self.take(4)?;
        Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn uuid(&mut self) -> Result<Uuid, ProxyError> {
        let bytes: [u8; 16] = self.take(16)?.try_into().map_err(|_| SHORT)?;
        Ok(Uuid::from_bytes(bytes))
    }

    fn varint(&mut self) -> Result<u32, ProxyError> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7f).checked_shl(shift).ok_or(MALFORMED)?;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(MALFORMED)
    }

    /// A length prefix: `None` for null. Within what is left, or an error.
    fn length(&mut self) -> Result<Option<usize>, ProxyError> {
        let length = if self.flexible {
            match self.varint()? {
                0 => None,
                n => Some(usize::try_from(n - 1).map_err(|_| MALFORMED)?),
            }
        } else {
            match self.i32()? {
                -1 => None,
                n => Some(usize::try_from(n).map_err(|_| MALFORMED)?),
            }
        };
        match length {
            Some(n) if n > self.left() => Err(SHORT),
            other => Ok(other),
        }
    }

    /// A string's length prefix, 2 bytes unless flexible: `None` for null.
    fn string_length(&mut self) -> Result<Option<usize>, ProxyError> {
        if self.flexible {
            return self.length();
        }
        match self.i16()? {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| MALFORMED),
        }
    }

    fn nullable_string(&mut self) -> Result<Option<StrBytes>, ProxyError> {
        let Some(n) = self.string_length()? else { return Ok(None) };
        let text = std::str::from_utf8(self.take(n)?).map_err(|_| MALFORMED)?;
        Ok(Some(StrBytes::from_string(text.to_owned())))
    }

    fn string(&mut self) -> Result<StrBytes, ProxyError> {
        self.nullable_string()?.ok_or(MALFORMED)
    }

    fn topic_name(&mut self) -> Result<TopicName, ProxyError> {
        self.string().map(TopicName)
    }

    fn nullable_bytes(&mut self) -> Result<(), ProxyError> {
        if let Some(n) = self.length()? {
            self.skip(n)?;
        }
        Ok(())
    }

    /// An array, each element read by `element`. Its count is checked against what is left
    /// (every element takes a byte at least), and nothing is reserved for it up front.
    fn nullable_array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, ProxyError>,
    ) -> Result<Option<Vec<T>>, ProxyError> {
        let Some(count) = self.length()? else { return Ok(None) };
        let mut elements = Vec::new();
        for _ in 0..count {
            elements.push(element(self)?);
        }
        Ok(Some(elements))
    }

    fn array<T>(
        &mut self,
        element: impl FnMut(&mut Self) -> Result<T, ProxyError>,
    ) -> Result<Vec<T>, ProxyError> {
        self.nullable_array(element)?.ok_or(MALFORMED)
    }

    fn tagged_fields(&mut self) -> Result<(), ProxyError> {
        if !self.flexible {
            return Ok(());
        }
        for _ in 0..self.varint()? {
            self.varint()?; // tag
            let size = usize::try_from(self.varint()?).map_err(|_| MALFORMED)?;
            self.skip(size)?;
        }
        Ok(())
    }
}

const SHORT: ProxyError = ProxyError::Protocol("a request shorter than its lengths say");
const MALFORMED: ProxyError = ProxyError::Protocol("a malformed request body");
