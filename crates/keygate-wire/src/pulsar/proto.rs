//! The part of Pulsar's binary protocol a broker needs to authenticate clients and answer the
//! commands around it: the messages, with field numbers from Pulsar's `PulsarApi.proto`, and
//! the framing around them. I/O-free: [`decode_frame`] takes a frame's body as read from the
//! socket (by `keygate-tokio`'s `FrameReader`, say) and [`BaseCommand::to_frame`] gives the
//! bytes to write.
//!
//! A frame is `total size (u32) | command size (u32) | BaseCommand`, and for SEND the message
//! metadata and payload after the command. Enumerations travel as their numbers (`int32`), so
//! unknown values decode without failing.

// The fields mirror PulsarApi.proto, which documents each; the names are the same.
#![allow(missing_docs)]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;

use crate::WireError;
use crate::error::malformed;

const FRAMING: &str = "Pulsar frame";

/// The largest frame accepted: Pulsar's default 5 MiB message size, plus room for the command.
pub const MAX_FRAME: usize = 5 * 1024 * 1024 + 10 * 1024;

/// `BaseCommand.Type` values.
pub mod command {
    pub const CONNECT: i32 = 2;
    pub const CONNECTED: i32 = 3;
    pub const SUBSCRIBE: i32 = 4;
    pub const PRODUCER: i32 = 5;
    pub const SEND: i32 = 6;
    pub const SEND_RECEIPT: i32 = 7;
    pub const SEND_ERROR: i32 = 8;
    pub const SUCCESS: i32 = 13;
    pub const ERROR: i32 = 14;
    pub const CLOSE_PRODUCER: i32 = 15;
    pub const PRODUCER_SUCCESS: i32 = 17;
    pub const PING: i32 = 18;
    pub const PONG: i32 = 19;
    pub const PARTITIONED_METADATA: i32 = 21;
    pub const PARTITIONED_METADATA_RESPONSE: i32 = 22;
    pub const LOOKUP: i32 = 23;
    pub const LOOKUP_RESPONSE: i32 = 24;
    pub const AUTH_CHALLENGE: i32 = 36;
    pub const AUTH_RESPONSE: i32 = 37;
}

/// `ServerError` values.
pub mod server_error {
    pub const UNKNOWN_ERROR: i32 = 0;
    pub const AUTHENTICATION_ERROR: i32 = 3;
    pub const AUTHORIZATION_ERROR: i32 = 4;
    pub const INVALID_TOPIC_NAME: i32 = 17;
    pub const NOT_ALLOWED_ERROR: i32 = 22;
}

/// The envelope of every command: its type, and the one field that type uses.
#[derive(Clone, PartialEq, Message)]
pub struct BaseCommand {
    #[prost(int32, required, tag = "1")]
    pub r#type: i32,
    #[prost(message, optional, tag = "2")]
    pub connect: Option<CommandConnect>,
    #[prost(message, optional, tag = "3")]
    pub connected: Option<CommandConnected>,
    #[prost(message, optional, tag = "4")]
    pub subscribe: Option<CommandSubscribe>,
    #[prost(message, optional, tag = "5")]
    pub producer: Option<CommandProducer>,
    #[prost(message, optional, tag = "6")]
    pub send: Option<CommandSend>,
    #[prost(message, optional, tag = "7")]
    pub send_receipt: Option<CommandSendReceipt>,
    #[prost(message, optional, tag = "8")]
    pub send_error: Option<CommandSendError>,
    #[prost(message, optional, tag = "13")]
    pub success: Option<CommandSuccess>,
    #[prost(message, optional, tag = "14")]
    pub error: Option<CommandError>,
    #[prost(message, optional, tag = "15")]
    pub close_producer: Option<CommandCloseProducer>,
    #[prost(message, optional, tag = "17")]
    pub producer_success: Option<CommandProducerSuccess>,
    #[prost(message, optional, tag = "18")]
    pub ping: Option<CommandPing>,
    #[prost(message, optional, tag = "19")]
    pub pong: Option<CommandPong>,
    #[prost(message, optional, tag = "21")]
    pub partition_metadata: Option<CommandPartitionedTopicMetadata>,
    #[prost(message, optional, tag = "22")]
    pub partition_metadata_response: Option<CommandPartitionedTopicMetadataResponse>,
    #[prost(message, optional, tag = "23")]
    pub lookup_topic: Option<CommandLookupTopic>,
    #[prost(message, optional, tag = "24")]
    pub lookup_topic_response: Option<CommandLookupTopicResponse>,
    #[prost(message, optional, tag = "36")]
    pub auth_challenge: Option<CommandAuthChallenge>,
    #[prost(message, optional, tag = "37")]
    pub auth_response: Option<CommandAuthResponse>,
}

/// The client's first command.
#[derive(Clone, PartialEq, Message)]
pub struct CommandConnect {
    #[prost(string, required, tag = "1")]
    pub client_version: String,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub auth_data: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "4")]
    pub protocol_version: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub auth_method_name: Option<String>,
    #[prost(message, optional, tag = "10")]
    pub feature_flags: Option<FeatureFlags>,
}

/// What a client or broker supports beyond its protocol version.
#[derive(Clone, PartialEq, Message)]
pub struct FeatureFlags {
    #[prost(bool, optional, tag = "1")]
    pub supports_auth_refresh: Option<bool>,
}

/// The broker's answer to a successful CONNECT.
#[derive(Clone, PartialEq, Message)]
pub struct CommandConnected {
    #[prost(string, required, tag = "1")]
    pub server_version: String,
    #[prost(int32, optional, tag = "2")]
    pub protocol_version: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub max_message_size: Option<i32>,
    #[prost(message, optional, tag = "4")]
    pub feature_flags: Option<FeatureFlags>,
}

/// Auth data in a challenge or a response.
#[derive(Clone, PartialEq, Message)]
pub struct AuthData {
    #[prost(string, optional, tag = "1")]
    pub auth_method_name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub auth_data: Option<Vec<u8>>,
}

/// The broker asks the client to authenticate again (here: to refresh its token).
#[derive(Clone, PartialEq, Message)]
pub struct CommandAuthChallenge {
    #[prost(string, optional, tag = "1")]
    pub server_version: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub challenge: Option<AuthData>,
    #[prost(int32, optional, tag = "3")]
    pub protocol_version: Option<i32>,
}

/// The client's answer to a challenge.
#[derive(Clone, PartialEq, Message)]
pub struct CommandAuthResponse {
    #[prost(string, optional, tag = "1")]
    pub client_version: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub response: Option<AuthData>,
    #[prost(int32, optional, tag = "3")]
    pub protocol_version: Option<i32>,
}

/// How many partitions a topic has.
#[derive(Clone, PartialEq, Message)]
pub struct CommandPartitionedTopicMetadata {
    #[prost(string, required, tag = "1")]
    pub topic: String,
    #[prost(uint64, required, tag = "2")]
    pub request_id: u64,
}

/// The answer: 0 for a non-partitioned topic.
#[derive(Clone, PartialEq, Message)]
pub struct CommandPartitionedTopicMetadataResponse {
    #[prost(uint32, optional, tag = "1")]
    pub partitions: Option<u32>,
    #[prost(uint64, required, tag = "2")]
    pub request_id: u64,
    #[prost(int32, optional, tag = "3")]
    pub response: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub error: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub message: Option<String>,
}

/// Which broker serves a topic.
#[derive(Clone, PartialEq, Message)]
pub struct CommandLookupTopic {
    #[prost(string, required, tag = "1")]
    pub topic: String,
    #[prost(uint64, required, tag = "2")]
    pub request_id: u64,
    #[prost(bool, optional, tag = "3")]
    pub authoritative: Option<bool>,
}

/// The answer: connect here.
#[derive(Clone, PartialEq, Message)]
pub struct CommandLookupTopicResponse {
    #[prost(string, optional, tag = "1")]
    pub broker_service_url: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub response: Option<i32>,
    #[prost(uint64, required, tag = "4")]
    pub request_id: u64,
    #[prost(bool, optional, tag = "5")]
    pub authoritative: Option<bool>,
    #[prost(int32, optional, tag = "6")]
    pub error: Option<i32>,
    #[prost(string, optional, tag = "7")]
    pub message: Option<String>,
}

/// Opens a consumer on a subscription of a topic.
#[derive(Clone, PartialEq, Message)]
pub struct CommandSubscribe {
    #[prost(string, required, tag = "1")]
    pub topic: String,
    #[prost(string, required, tag = "2")]
    pub subscription: String,
    #[prost(int32, required, tag = "3")]
    pub sub_type: i32,
    #[prost(uint64, required, tag = "4")]
    pub consumer_id: u64,
    #[prost(uint64, required, tag = "5")]
    pub request_id: u64,
}

/// Opens a producer on a topic.
#[derive(Clone, PartialEq, Message)]
pub struct CommandProducer {
    #[prost(string, required, tag = "1")]
    pub topic: String,
    #[prost(uint64, required, tag = "2")]
    pub producer_id: u64,
    #[prost(uint64, required, tag = "3")]
    pub request_id: u64,
    #[prost(string, optional, tag = "4")]
    pub producer_name: Option<String>,
}

/// The producer is ready.
#[derive(Clone, PartialEq, Message)]
pub struct CommandProducerSuccess {
    #[prost(uint64, required, tag = "1")]
    pub request_id: u64,
    #[prost(string, required, tag = "2")]
    pub producer_name: String,
    #[prost(int64, optional, tag = "3")]
    pub last_sequence_id: Option<i64>,
    #[prost(bool, optional, tag = "6")]
    pub producer_ready: Option<bool>,
}

/// A message (or a batch) from a producer; its metadata and payload follow in the frame.
#[derive(Clone, PartialEq, Message)]
pub struct CommandSend {
    #[prost(uint64, required, tag = "1")]
    pub producer_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub sequence_id: u64,
    #[prost(int32, optional, tag = "3")]
    pub num_messages: Option<i32>,
    #[prost(uint64, optional, tag = "6")]
    pub highest_sequence_id: Option<u64>,
}

/// Where a message was stored.
#[derive(Clone, PartialEq, Message)]
pub struct MessageIdData {
    #[prost(uint64, required, tag = "1")]
    pub ledger_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub entry_id: u64,
}

/// A SEND was stored.
#[derive(Clone, PartialEq, Message)]
pub struct CommandSendReceipt {
    #[prost(uint64, required, tag = "1")]
    pub producer_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub sequence_id: u64,
    #[prost(message, optional, tag = "3")]
    pub message_id: Option<MessageIdData>,
    #[prost(uint64, optional, tag = "4")]
    pub highest_sequence_id: Option<u64>,
}

/// A SEND was refused.
#[derive(Clone, PartialEq, Message)]
pub struct CommandSendError {
    #[prost(uint64, required, tag = "1")]
    pub producer_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub sequence_id: u64,
    #[prost(int32, required, tag = "3")]
    pub error: i32,
    #[prost(string, required, tag = "4")]
    pub message: String,
}

/// Closes a producer.
#[derive(Clone, PartialEq, Message)]
pub struct CommandCloseProducer {
    #[prost(uint64, required, tag = "1")]
    pub producer_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub request_id: u64,
}

/// A request succeeded.
#[derive(Clone, PartialEq, Message)]
pub struct CommandSuccess {
    #[prost(uint64, required, tag = "1")]
    pub request_id: u64,
}

/// A request failed.
#[derive(Clone, PartialEq, Message)]
pub struct CommandError {
    #[prost(uint64, required, tag = "1")]
    pub request_id: u64,
    #[prost(int32, required, tag = "2")]
    pub error: i32,
    #[prost(string, required, tag = "3")]
    pub message: String,
}

/// A keep-alive probe.
#[derive(Clone, PartialEq, Message)]
pub struct CommandPing {}

/// The answer to a probe.
#[derive(Clone, PartialEq, Message)]
pub struct CommandPong {}

impl BaseCommand {
    /// A command of `kind` with nothing set yet.
    pub fn of(kind: i32) -> BaseCommand {
        BaseCommand { r#type: kind, ..BaseCommand::default() }
    }

    /// The command as one frame.
    pub fn to_frame(&self) -> Bytes {
        let command = self.encode_to_vec();
        let command_size = u32::try_from(command.len()).unwrap_or(u32::MAX);
        let mut frame = BytesMut::with_capacity(command.len() + 8);
        frame.put_u32(command_size.saturating_add(4));
        frame.put_u32(command_size);
        frame.put_slice(&command);
        frame.freeze()
    }
}

/// Decodes the command of a frame's body (everything after the total size). What follows the
/// command (a SEND's metadata and payload) is left alone.
pub fn decode_frame(body: &[u8]) -> Result<BaseCommand, WireError> {
    let mut body = body;
    if body.len() < 4 {
        return Err(malformed(FRAMING, "a frame without a command size"));
    }
    let command_size = usize::try_from(body.get_u32()).unwrap_or(usize::MAX);
    let command =
        body.get(..command_size).ok_or(malformed(FRAMING, "a command longer than its frame"))?;
    BaseCommand::decode(command).map_err(|_| malformed(FRAMING, "the command does not decode"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_truncations_are_errors() {
        let mut ping = BaseCommand::of(command::PING);
        ping.ping = Some(CommandPing {});
        let frame = ping.to_frame();
        assert_eq!(decode_frame(&frame[4..]).unwrap(), ping);
        assert!(decode_frame(&frame[4..frame.len() - 1]).is_err());
        assert!(decode_frame(&[0, 0]).is_err());
        assert!(decode_frame(&[0, 0, 0, 3, 0xff, 0xff, 0xff]).is_err());
    }
}
