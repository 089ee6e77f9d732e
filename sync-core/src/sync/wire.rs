//! The wire format: versioned push/ack/pull messages in JSON or compressed binary.
//!
//! Four messages — [`PushRequest`], [`PushAck`], [`PullRequest`], [`PullResponse`] — each with a
//! `version` field ([`WIRE_VERSION`]). Two encodings of the same serde data model:
//!
//! * **JSON** (`encode_json` / `decode_json`): for HTTP clients, logs and tests.
//! * **binary** (`encode_binary` / `decode_binary`): a 6-byte header — `MFS` magic, envelope
//!   version 1, the message kind (1 push, 2 ack, 3 pull request, 4 pull response), the codec (0
//!   plain, 1 zlib) — then the message as CBOR (RFC 8949), zlib-compressed (RFC 1950, DEFLATE with
//!   an Adler-32 check) unless that would not make it smaller. UUIDs are 16-byte strings.
//!
//! Both are self-describing, and every struct keeps the fields it does not know (an `extra` map
//! flattened into it), enums keep variants they do not know, so an older phone that decodes and
//! re-encodes a newer phone's data returns it unchanged. A message whose `version` is newer than
//! [`WIRE_VERSION`] is refused (`unsupported_version`): a version bump is for changes that cannot
//! be ignored.
//!
//! Decoders never panic and bound what they allocate: input and decompressed size are limited to
//! [`MAX_MESSAGE_BYTES`], nesting to CBOR's and JSON's recursion limits.

use super::entity::Entity;
use super::ids::DeviceId;
use super::log::{Ack, RefusalRecord};
use super::op::Operation;
use super::value::Unknown;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The message format version this code writes and the newest it reads.
pub const WIRE_VERSION: u32 = 1;
/// The largest message accepted, compressed or not (64 MiB).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

const MAGIC: &[u8; 3] = b"MFS";
const ENVELOPE_VERSION: u8 = 1;
const CODEC_PLAIN: u8 = 0;
const CODEC_ZLIB: u8 = 1;
const HEADER_LEN: usize = 6;

/// A phone sends its outbox (or a prefix of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub version: u32,
    pub device_id: DeviceId,
    /// In `device_seq` order.
    pub ops: Vec<Operation>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// The server's answer to a push: one acknowledgement per operation, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushAck {
    pub version: u32,
    pub acks: Vec<Ack>,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A phone asks for what changed in its scope after `after`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    pub version: u32,
    pub device_id: DeviceId,
    /// The `up_to` of the last pull (0 at first).
    pub after: u64,
    /// The scope keys the phone holds up to `after`; any other key assigned to it is sent whole.
    #[serde(default)]
    pub known_scopes: Vec<Uuid>,
    /// The most entities wanted (0: the server's maximum).
    #[serde(default)]
    pub limit: u32,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub version: u32,
    /// Current state of each changed entity, with its conflict records.
    pub entities: Vec<Entity>,
    /// Refused operations of this device (and, for supervisors, of the scope).
    #[serde(default)]
    pub refusals: Vec<RefusalRecord>,
    /// Everything up to this sequence has been sent: the next pull's `after`.
    pub up_to: u64,
    /// False when more pages follow.
    pub complete: bool,
    /// The scope keys now assigned (entities of other scopes should be dropped).
    #[serde(default)]
    pub scopes: Vec<Uuid>,
    /// The principal sees every scope.
    #[serde(default)]
    pub all_scopes: bool,
    /// Fields of a newer version.
    #[serde(flatten)]
    pub extra: Unknown,
}

/// A sync message.
pub trait Message: Serialize + DeserializeOwned {
    /// The kind byte in the binary header.
    const KIND: u8;
    /// The message's `version` field.
    fn version(&self) -> u32;
}

impl Message for PushRequest {
    const KIND: u8 = 1;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Message for PushAck {
    const KIND: u8 = 2;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Message for PullRequest {
    const KIND: u8 = 3;
    fn version(&self) -> u32 {
        self.version
    }
}

impl Message for PullResponse {
    const KIND: u8 = 4;
    fn version(&self) -> u32 {
        self.version
    }
}

/// Why a message could not be decoded or encoded. Codes are stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message is {0} bytes; the limit is {MAX_MESSAGE_BYTES}")]
    TooLarge(usize),
    #[error("not a mapframe sync message (bad header)")]
    BadHeader,
    #[error("expected message kind {expected}, found {found}")]
    WrongKind { expected: u8, found: u8 },
    #[error("unknown compression codec {0}")]
    UnknownCodec(u8),
    #[error("message version {found} is newer than this version ({supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("corrupt compressed data")]
    Decompress,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("cannot encode: {0}")]
    Encode(String),
}

impl WireError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::BadHeader => "bad_header",
            Self::WrongKind { .. } => "wrong_kind",
            Self::UnknownCodec(_) => "unknown_codec",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::Decompress => "decompress",
            Self::Malformed(_) => "malformed",
            Self::Encode(_) => "encode",
        }
    }
}

fn check_version<M: Message>(m: M) -> Result<M, WireError> {
    if m.version() > WIRE_VERSION {
        return Err(WireError::UnsupportedVersion {
            found: m.version(),
            supported: WIRE_VERSION,
        });
    }
    Ok(m)
}

/// The message as JSON.
pub fn encode_json<M: Message>(m: &M) -> Result<String, WireError> {
    serde_json::to_string(m).map_err(|e| WireError::Encode(e.to_string()))
}

/// Reads a message from JSON.
pub fn decode_json<M: Message>(text: &[u8]) -> Result<M, WireError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(text.len()));
    }
    let m = serde_json::from_slice(text).map_err(|e| WireError::Malformed(e.to_string()))?;
    check_version(m)
}

/// The message as compressed binary (see the module documentation).
pub fn encode_binary<M: Message>(m: &M) -> Result<Vec<u8>, WireError> {
    let mut cbor = Vec::new();
    ciborium::into_writer(m, &mut cbor).map_err(|e| WireError::Encode(e.to_string()))?;
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&cbor, 6);
    let (codec, payload) = if compressed.len() < cbor.len() {
        (CODEC_ZLIB, compressed)
    } else {
        (CODEC_PLAIN, cbor)
    };
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.push(ENVELOPE_VERSION);
    out.push(M::KIND);
    out.push(codec);
    out.extend_from_slice(&payload);
    if out.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Reads a message from compressed binary.
pub fn decode_binary<M: Message>(bytes: &[u8]) -> Result<M, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge(bytes.len()));
    }
    let Some((header, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::BadHeader);
    };
    if &header[..3] != MAGIC || header[3] != ENVELOPE_VERSION {
        return Err(WireError::BadHeader);
    }
    if header[4] != M::KIND {
        return Err(WireError::WrongKind {
            expected: M::KIND,
            found: header[4],
        });
    }
    let inflated;
    let cbor = match header[5] {
        CODEC_PLAIN => payload,
        CODEC_ZLIB => {
            inflated =
                miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(payload, MAX_MESSAGE_BYTES)
                    .map_err(|_| WireError::Decompress)?;
            &inflated[..]
        }
        other => return Err(WireError::UnknownCodec(other)),
    };
    let m: M = ciborium::from_reader(cbor).map_err(|e| WireError::Malformed(e.to_string()))?;
    check_version(m)
}
