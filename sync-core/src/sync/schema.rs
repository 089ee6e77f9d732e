//! What kind of thing an entity is, who is acting, and how each field merges.
//!
//! The merge rule of a field depends only on the entity kind and the field path
//! ([`field_kind`]), so that the server and every phone agree without exchanging a schema:
//!
//! | path | kind | merge |
//! | --- | --- | --- |
//! | any segment starting with `_` (`_dwelling`, `members[…]/_present`) | [`FieldKind::System`] | only through structural actions |
//! | `status` of an interview, assignment or sample; `review/…` of an interview; `released/…` and `release_notes/…` of a sample | [`FieldKind::Workflow`] | only through workflow actions |
//! | `counts/…` | [`FieldKind::Counter`] | concurrent deltas add |
//! | `position`, `location`, `…/position`, `…/location` | [`FieldKind::Position`] | last writer wins, flagged beyond a distance |
//! | `answers/…` | [`FieldKind::Answer`] | three-way; divergent values are kept in a conflict |
//! | anything else | [`FieldKind::Attribute`] | three-way; divergent values are kept in a conflict |
//!
//! Field paths are `/`-separated segments. A segment inside a repeat names its instance by UUID,
//! never by index: `answers/members[0190b5a0-…]/age`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        ///
        /// Encoded as a snake_case word. A word this version does not know is kept as
        #[doc = concat!("[`", stringify!($name), "::Other`]")]
        /// and written back unchanged.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A word from a newer version.
            Other(String),
        }

        impl $name {
            /// The word this value is written as.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Other(s) => s,
                }
            }

            /// Reads a word; unknown words become `Other`.
            pub fn parse(word: &str) -> Self {
                match word {
                    $($word => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let word = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::parse(&word))
            }
        }
    };
}
pub(crate) use open_enum;

open_enum!(
    /// The kind of an entity.
    EntityKind {
        /// A primary sampling unit.
        Area => "area",
        Building => "building",
        Dwelling => "dwelling",
        Household => "household",
        /// A case: the interview of one selected household.
        Interview => "interview",
        /// Selected units given to an interviewer.
        Assignment => "assignment",
        /// A selection record with its reserve replicates.
        Sample => "sample",
    }
);

open_enum!(
    /// What a person may do. Ranks: administrator > supervisor > interviewer = lister > other.
    Role {
        Interviewer => "interviewer",
        Lister => "lister",
        Supervisor => "supervisor",
        Admin => "admin",
    }
);

impl Role {
    /// The authority rank used by permissions and by the provisional-value rule.
    pub fn rank(&self) -> u8 {
        match self {
            Role::Admin => 3,
            Role::Supervisor => 2,
            Role::Interviewer | Role::Lister => 1,
            Role::Other(_) => 0,
        }
    }

    /// Whether this role may approve, return, reopen, resolve conflicts and release replicates.
    pub fn supervises(&self) -> bool {
        self.rank() >= 2
    }
}

/// How a field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A listing attribute: divergent concurrent values are kept in a conflict record.
    Attribute,
    /// A questionnaire answer: as an attribute.
    Answer,
    /// A position: the last writer (in server order) wins; flagged beyond a distance.
    Position,
    /// A counter: concurrent changes are deltas and add up.
    Counter,
    /// Workflow state: changed only by workflow actions.
    Workflow,
    /// Structure maintained by the engine: changed only by structural actions.
    System,
}

impl FieldKind {
    /// Whether a plain field edit may change this field.
    pub fn editable(self) -> bool {
        !matches!(self, FieldKind::Workflow | FieldKind::System)
    }
}

/// The merge rule of `path` in an entity of `kind` (the table in the module documentation).
pub fn field_kind(kind: &EntityKind, path: &str) -> FieldKind {
    if path.split('/').any(|segment| segment.starts_with('_')) {
        return FieldKind::System;
    }
    let workflow = match kind {
        EntityKind::Interview => path == "status" || path.starts_with("review/"),
        EntityKind::Assignment => path == "status",
        EntityKind::Sample => {
            path == "status" || path.starts_with("released/") || path.starts_with("release_notes/")
        }
        _ => false,
    };
    if workflow {
        return FieldKind::Workflow;
    }
    if path.starts_with("counts/") {
        return FieldKind::Counter;
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    if last == "position" || last == "location" {
        return FieldKind::Position;
    }
    if path.starts_with("answers/") {
        return FieldKind::Answer;
    }
    FieldKind::Attribute
}

/// The longest field path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 512;

/// Whether `path` is a well-formed field path: non-empty `/`-separated segments of printable
/// characters other than `/ [ ] #`, each optionally followed by `[<uuid>]` naming a repeat
/// instance; at most [`MAX_PATH_LEN`] bytes.
pub fn valid_path(path: &str) -> bool {
    !path.is_empty() && path.len() <= MAX_PATH_LEN && path.split('/').all(valid_segment)
}

fn valid_segment(segment: &str) -> bool {
    let (name, instance) = match segment.find('[') {
        Some(i) => (&segment[..i], Some(&segment[i..])),
        None => (segment, None),
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_control() && !matches!(c, '/' | '[' | ']' | '#'));
    let instance_ok = instance.is_none_or(|s| {
        s.len() == 38
            && s.starts_with('[')
            && s.ends_with(']')
            && Uuid::try_parse(&s[1..37]).is_ok()
    });
    name_ok && instance_ok
}

/// The path of a repeat instance: `group[instance]`.
pub fn instance_path(group: &str, instance: Uuid) -> String {
    format!("{group}[{instance}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_table() {
        let i = EntityKind::Interview;
        let d = EntityKind::Dwelling;
        let cases = [
            (&i, "answers/consent", FieldKind::Answer),
            (
                &i,
                "answers/members[0190b5a0-0000-7000-8000-000000000001]/age",
                FieldKind::Answer,
            ),
            (&i, "status", FieldKind::Workflow),
            (&i, "review/notes", FieldKind::Workflow),
            (&i, "counts/visits", FieldKind::Counter),
            (&i, "answers/home/position", FieldKind::Position),
            (&d, "position", FieldKind::Position),
            (&d, "status", FieldKind::Attribute),
            (&d, "occupancy", FieldKind::Attribute),
            (&d, "_retired", FieldKind::System),
            (&i, "answers/members[x]/_present", FieldKind::System),
            (&EntityKind::Sample, "released/north", FieldKind::Workflow),
        ];
        for (kind, path, expected) in cases {
            assert_eq!(field_kind(kind, path), expected, "{kind} {path}");
        }
    }

    #[test]
    fn paths() {
        assert!(valid_path("answers/consent"));
        assert!(valid_path("地址/门牌号"));
        assert!(valid_path(
            "answers/members[0190b5a0-0000-7000-8000-000000000001]/age"
        ));
        for bad in [
            "",
            "a//b",
            "/a",
            "a/",
            "answers/members[0]/age",
            "a#b",
            "a]",
            "a\nb",
        ] {
            assert!(!valid_path(bad), "{bad:?}");
        }
        assert!(!valid_path(&"x".repeat(MAX_PATH_LEN + 1)));
    }

    #[test]
    fn unknown_words_round_trip() {
        let k: EntityKind = serde_json::from_str("\"parcel\"").unwrap();
        assert_eq!(k, EntityKind::Other("parcel".into()));
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"parcel\"");
        assert_eq!(
            serde_json::from_str::<Role>("\"supervisor\"").unwrap(),
            Role::Supervisor
        );
    }
}
