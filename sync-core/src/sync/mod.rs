//! Offline operations and their merge: the sync engine shared by phones and the server.
//!
//! Phones and the server exchange [`Operation`]s, not documents (DESIGN.md §3). This module holds
//! the whole engine, without I/O — no clock, no random generator, no network, no database — so
//! that the server and the phone library run the same code:
//!
//! * [`op`]: operations (field changes against a base version, or structural and workflow
//!   actions with preconditions);
//! * [`entity`]: the generic documents they change, with per-field provenance and conflict
//!   records; [`schema`]: how each field merges; [`value`]: field values;
//! * [`merge`]: the one pure merge function ([`merge()`], [`merge_into`]);
//! * [`log`]: the server's idempotent, sequenced log behind a [`LogStore`] trait ([`push`],
//!   [`pull`]);
//! * [`replica`]: a phone's outbox, mirror and rebased view behind a [`ReplicaStorage`] trait;
//! * [`wire`]: versioned messages in JSON or compressed CBOR that keep unknown fields;
//! * [`hlc`]: hybrid logical clock stamps; [`ids`]: operation, device, user and conflict ids.
//!
//! `docs/sync.md` is the user-level description: the rules, the wire format, the invariants and
//! the tests that prove them.

pub mod entity;
pub mod hlc;
pub mod ids;
pub mod log;
pub mod merge;
pub mod op;
pub mod replica;
pub mod schema;
pub mod value;
pub mod wire;

pub use entity::{Conflict, ConflictEntry, ConflictKind, Entity, Head, InterviewStatus};
pub use hlc::{Hlc, HlcClock};
pub use ids::{ConflictId, DeviceId, IdMint, OpId, UserId};
pub use log::{
    Ack, AckStatus, LogError, LogStore, MemoryLog, Principal, RefusalRecord, Scope, pull, push,
};
pub use merge::{
    MergeContext, MergeOutcome, Merged, Reason, Refusal, Verdict, may_spawn, merge, merge_into,
};
pub use op::{Change, Decision, OpBody, Operation, Part, Target};
pub use replica::{Identity, MemoryReplicaStorage, Replica, ReplicaError, ReplicaStorage};
pub use schema::{EntityKind, FieldKind, Role, field_kind};
pub use value::{FieldValue, Position};
pub use wire::{
    PullRequest, PullResponse, PushAck, PushRequest, WireError, decode_binary, decode_json,
    encode_binary, encode_json,
};
