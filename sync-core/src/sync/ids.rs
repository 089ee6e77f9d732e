//! Identifiers of the sync engine: operations, devices, users and conflict records.
//!
//! sync-core never reads a clock or the OS random generator, so it never mints an id on its own
//! initiative: the caller passes ids in, or mints them with [`IdMint`] from a seed it chose (the
//! phone seeds it once from the OS generator, tests from a constant). Ids are UUIDv7 so that they
//! sort by creation time, like every other field-created id in mapframe.

use crate::random::Stream;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! sync_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

sync_id!(
    /// One operation, minted on the device that made it. Pushing it twice is recognised by it.
    OpId
);
sync_id!(
    /// A device (phone, tablet, a supervisor's laptop, the server itself for imports).
    DeviceId
);
sync_id!(
    /// A person: interviewer, lister, supervisor, administrator.
    UserId
);
sync_id!(
    /// A conflict record. Derived from the entity, the conflict key and how many records that key
    /// had before ([`ConflictId::derive`]), so that the server and every phone name it alike
    /// whatever order the competing operations arrived in.
    ConflictId
);

/// Namespace of derived conflict ids (UUIDv5).
const CONFLICT_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7066_7261_6d65_0000_0000_0000_0c0f);

impl ConflictId {
    /// The id of the `ordinal`-th conflict record (0-based) on `key` of entity `entity`.
    pub fn derive(entity: Uuid, key: &str, ordinal: u32) -> Self {
        let mut name = Vec::with_capacity(16 + key.len() + 5);
        name.extend_from_slice(entity.as_bytes());
        name.extend_from_slice(key.as_bytes());
        name.push(0);
        name.extend_from_slice(&ordinal.to_be_bytes());
        Self(Uuid::new_v5(&CONFLICT_NAMESPACE, &name))
    }
}

/// A UUIDv7 from a Unix time in milliseconds and 10 random bytes (74 bits are used).
pub fn uuid_v7(unix_ms: u64, random: [u8; 10]) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid()
}

/// Mints UUIDv7 ids from a seeded [`Stream`]: reproducible in tests, unpredictable on a phone
/// seeded from the OS generator. The time part is whatever the caller says it is.
#[derive(Debug, Clone)]
pub struct IdMint {
    stream: Stream,
}

impl IdMint {
    /// A mint seeded with 64 bits.
    pub fn new(seed: u64) -> Self {
        Self {
            stream: Stream::new(seed),
        }
    }

    /// A mint seeded with a full 256-bit key (what a phone should use).
    pub fn from_key(key: [u8; 32]) -> Self {
        Self {
            stream: Stream::from_key(key),
        }
    }

    /// The next id, stamped with `unix_ms`.
    pub fn uuid(&mut self, unix_ms: u64) -> Uuid {
        let a = self.stream.next_u64().to_le_bytes();
        let b = self.stream.next_u64().to_le_bytes();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
        uuid_v7(unix_ms, random)
    }

    /// The next operation id, stamped with `unix_ms`.
    pub fn op_id(&mut self, unix_ms: u64) -> OpId {
        OpId(self.uuid(unix_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_v7_reproducible_and_time_ordered() {
        let mut a = IdMint::new(7);
        let mut b = IdMint::new(7);
        let x = a.uuid(1_700_000_000_000);
        assert_eq!(x, b.uuid(1_700_000_000_000));
        assert_eq!(x.get_version_num(), 7);
        assert!(a.uuid(1_700_000_000_001) > x);
    }

    #[test]
    fn conflict_ids_depend_on_entity_key_and_ordinal_only() {
        let e = Uuid::from_u128(1);
        assert_eq!(
            ConflictId::derive(e, "answers/age", 0),
            ConflictId::derive(e, "answers/age", 0)
        );
        assert_ne!(
            ConflictId::derive(e, "answers/age", 0),
            ConflictId::derive(e, "answers/age", 1)
        );
        assert_ne!(
            ConflictId::derive(e, "answers/age", 0),
            ConflictId::derive(Uuid::from_u128(2), "answers/age", 0)
        );
    }
}
