//! Typed identifiers.
//!
//! Every field-created thing is identified by a UUID minted where it is created, usually on a phone
//! while offline. New ids are UUIDv7 (they sort by creation time). Things imported from a file whose
//! features carry their own non-UUID ids (an OpenStreetMap way id, a row number) get a name-based
//! UUIDv5 derived from the kind and that id, so importing the same file twice yields the same ids.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Namespace for name-based ids derived from imported feature ids.
const IMPORT_NAMESPACE: Uuid = Uuid::from_u128(0x6d61_7066_7261_6d65_0000_0000_0000_0001);

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// The entity kind this id names, as used in derived ids and error messages.
            pub const KIND: &'static str = $kind;

            /// Mints a new time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The id for an imported feature: its own id when that is a UUID, otherwise a
            /// deterministic name-based UUID derived from the kind and the source id.
            pub fn from_source(source_id: &str) -> Self {
                match Uuid::parse_str(source_id) {
                    Ok(uuid) => Self(uuid),
                    Err(_) => Self(Uuid::new_v5(
                        &IMPORT_NAMESPACE,
                        format!("{}:{}", $kind, source_id).as_bytes(),
                    )),
                }
            }

            /// The UUID inside.
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
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
    };
}

typed_id!(
    /// An area: a primary sampling unit (residents' committee, village, or a segment of one).
    AreaId,
    "area"
);
typed_id!(
    /// A segment of an area, used when a large PSU is cut and one piece drawn.
    SegmentId,
    "segment"
);
typed_id!(
    /// A map sheet (master map 总图 or sub-map 分图) of an area.
    SheetId,
    "sheet"
);
typed_id!(
    /// A building (structure).
    BuildingId,
    "building"
);
typed_id!(
    /// A dwelling (住户): one addressable living quarter.
    DwellingId,
    "dwelling"
);
typed_id!(
    /// A household living in a dwelling.
    HouseholdId,
    "household"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v7_and_sort_by_time() {
        let a = DwellingId::new();
        let b = DwellingId::new();
        assert_eq!(a.uuid().get_version_num(), 7);
        assert!(a < b);
    }

    #[test]
    fn source_ids_are_stable_and_kind_scoped() {
        assert_eq!(
            BuildingId::from_source("322667424"),
            BuildingId::from_source("322667424")
        );
        assert_ne!(
            BuildingId::from_source("7").uuid(),
            DwellingId::from_source("7").uuid()
        );
        let u = "0190b5a0-0000-7000-8000-000000000001";
        assert_eq!(AreaId::from_source(u).to_string(), u);
    }
}
