//! The plain records and enums of the public surface. Apps see only these (and [`FieldError`]);
//! sync-core's types are translated at the boundary, so the core can change without breaking
//! the Kotlin and Swift APIs.
//!
//! [`FieldError`]: crate::FieldError

/// Who is signed in on this device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Account {
    pub server_url: String,
    pub project: String,
    pub user_id: String,
    pub username: String,
    /// `interviewer`, `lister`, `supervisor` or `admin`.
    pub role: String,
    /// This device's id, minted once at the first open of the store.
    pub device_id: String,
    /// When the token stops working (RFC 3339), as the server said.
    pub token_expires_at: String,
}

/// How sync messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WireFormat {
    /// `application/json`.
    Json,
    /// `application/vnd.mapframe.sync+cbor`: CBOR, zlib-compressed (about a third of the bytes).
    Binary,
}

/// What one `sync` did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncReport {
    /// Operations sent (each at most once per sync; a resent batch counts again).
    pub pushed: u32,
    /// Acknowledged as applied, agreed or no-op.
    pub accepted: u32,
    /// Acknowledged as conflicting (kept in conflict records).
    pub conflicted: u32,
    /// Refused by the server (kept, with the reason, in `refused()`).
    pub refused: u32,
    /// Pull pages received.
    pub pages: u32,
    /// Entities received.
    pub entities_received: u32,
    /// HTTP attempts, retries included.
    pub attempts: u32,
    /// Operations still in the outbox (acknowledged ones wait until a pull brings them back).
    pub pending: u32,
    /// The outbox is empty and the last pull was complete.
    pub synced: bool,
}

/// The outbox and sync state, for a status bar.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    pub device_id: String,
    pub signed_in: bool,
    pub username: Option<String>,
    pub project: Option<String>,
    /// Operations in the outbox.
    pub pending_ops: u32,
    /// Of those, not yet acknowledged by the server.
    pub unacknowledged_ops: u32,
    /// When the last sync finished without error (ms since the Unix epoch).
    pub last_sync_ms: Option<i64>,
    pub synced: bool,
    pub refused: u32,
    pub open_conflicts: u32,
}

/// A WGS-84 point, as GPS gives it.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
    #[uniffi(default)]
    pub accuracy_m: Option<f64>,
}

/// A dwelling's occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Occupancy {
    Occupied,
    /// 空房空户.
    Vacant,
    Business,
    NotDwelling,
    Unknown,
}

/// An area this device works in.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AreaRecord {
    pub id: String,
    pub code: String,
    pub name: String,
    /// `listing`, `interviewing`, or empty when the area came without an assignment.
    pub task: String,
    pub buildings: u32,
    pub dwellings: u32,
}

/// A building as listed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BuildingRecord {
    pub id: String,
    pub area_id: String,
    pub number: Option<String>,
    pub name: Option<String>,
    /// `residential`, `mixed`, `non_residential`, `under_construction`, `demolished`, `unknown`.
    pub kind: String,
    pub floors: Option<u32>,
    pub serpentine: Option<u32>,
    pub position: Option<Point>,
    pub open_conflicts: u32,
}

/// A new building, or the attributes of one to change (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct BuildingInput {
    #[uniffi(default)]
    pub number: Option<String>,
    #[uniffi(default)]
    pub name: Option<String>,
    #[uniffi(default)]
    pub kind: Option<String>,
    #[uniffi(default)]
    pub floors: Option<u32>,
    #[uniffi(default)]
    pub position: Option<Point>,
}

/// A dwelling as listed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DwellingRecord {
    pub id: String,
    pub area_id: String,
    pub building_id: Option<String>,
    pub unit: Option<String>,
    pub floor: Option<String>,
    pub room: Option<String>,
    pub door_number: Option<String>,
    pub occupancy: Occupancy,
    pub households: u32,
    pub listing_number: Option<u32>,
    pub notes: Option<String>,
    pub position: Option<Point>,
    /// Split or merged away (kept for the record; not listed by default).
    pub retired: bool,
    /// Dwellings this one was split into.
    pub parts: Vec<String>,
    pub open_conflicts: u32,
}

/// A new dwelling, or the attributes of one to change (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct DwellingInput {
    #[uniffi(default)]
    pub building_id: Option<String>,
    #[uniffi(default)]
    pub unit: Option<String>,
    #[uniffi(default)]
    pub floor: Option<String>,
    #[uniffi(default)]
    pub room: Option<String>,
    #[uniffi(default)]
    pub door_number: Option<String>,
    #[uniffi(default)]
    pub occupancy: Option<Occupancy>,
    #[uniffi(default)]
    pub households: Option<u32>,
    #[uniffi(default)]
    pub notes: Option<String>,
    #[uniffi(default)]
    pub position: Option<Point>,
}

/// One self-check finding (the same codes and messages as the server's).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct FindingRecord {
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub area: Option<String>,
    pub ids: Vec<String>,
    pub message: String,
    pub message_zh: String,
}

/// A case: an interview to do at a sampled dwelling or household.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseRecord {
    pub id: String,
    pub area_id: String,
    pub area_code: String,
    pub dwelling_id: String,
    pub household_id: Option<String>,
    /// The dwelling's address as people write it (单元-层-室, door number).
    pub address: String,
    /// `assigned`, `in_progress`, `submitted`, `approved`, `returned`.
    pub status: String,
    /// AAPOR code, e.g. `1.1`.
    pub disposition: Option<String>,
    pub form_id: Option<String>,
    pub visits: u32,
    /// The roster instance selected as respondent.
    pub respondent: Option<String>,
    pub open_conflicts: u32,
}

/// An answer as the interviewer gives it.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum AnswerValue {
    Text {
        value: String,
    },
    Integer {
        value: i64,
    },
    Decimal {
        value: f64,
    },
    /// A `select_one` choice name.
    Choice {
        name: String,
    },
    /// `select_multiple` choice names.
    Choices {
        names: Vec<String>,
    },
    /// `YYYY-MM-DD`.
    Date {
        value: String,
    },
    /// A `geopoint`: the GPS fix.
    Location {
        point: Point,
    },
    /// Clears the answer.
    Clear,
}

/// A choice as shown (after choice filters, in the chosen language).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChoiceRecord {
    pub name: String,
    pub label: String,
}

/// What is wrong with an answer.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IssueRecord {
    /// The question's path in the form (`main/members[<uuid>]/age`).
    pub path: String,
    pub name: String,
    /// `required`, `constraint`, `type`, `repeat_count`.
    pub kind: String,
    pub message: String,
}

/// The question the interviewer is on.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QuestionRecord {
    pub name: String,
    pub path: String,
    /// The roster instances it is in, outermost first.
    pub instances: Vec<String>,
    /// The XLSForm type (`integer`, `select_one sex`, `note`, …).
    pub type_word: String,
    pub label: Option<String>,
    pub hint: Option<String>,
    pub required: bool,
    pub read_only: bool,
    /// The current answer as JSON text (`"yes"`, `3`, `["a","b"]`), if any.
    pub value: Option<String>,
    /// For selects: the choices left after filters.
    pub choices: Vec<ChoiceRecord>,
    /// The problem with the current answer, if any.
    pub issue: Option<IssueRecord>,
    /// The constraint message in the chosen language, shown when the constraint fails.
    pub constraint_message: Option<String>,
}

/// A roster: its instances and how many the form expects.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RosterRecord {
    pub name: String,
    pub instances: Vec<String>,
    pub expected: Option<u64>,
}

/// Where an interview stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InterviewView {
    pub case_id: String,
    pub status: String,
    pub language: Option<String>,
    /// The current question; `None` past the last one.
    pub question: Option<QuestionRecord>,
    pub at_end: bool,
    pub submittable: bool,
    pub issues: Vec<IssueRecord>,
    pub rosters: Vec<RosterRecord>,
    /// Relevant questions answered, and relevant questions in all.
    pub answered: u32,
    pub relevant: u32,
}

/// How to pick the respondent among the eligible adults of the roster.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum RespondentRule {
    /// A Kish table (`A`, `B1`, `B2`, `C`, `D`, `E1`, `E2`, `F`), adults in Kish's order.
    Kish { table: String },
    /// A seeded uniform choice (reproducible per case).
    Uniform { seed: u64 },
}

/// The selected respondent.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RespondentRecord {
    /// The roster instance.
    pub instance_id: String,
    /// Number of eligible adults.
    pub eligible: u32,
    /// Selection probability within the household.
    pub probability: f64,
    /// `kish:<table>` or `uniform:<seed>`.
    pub method: String,
}

/// A visit to record.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitInput {
    /// AAPOR code of the visit's outcome, e.g. `2.24` (no one at home) or `1.1`.
    pub result: String,
    #[uniffi(default)]
    pub note: String,
    #[uniffi(default)]
    pub position: Option<Point>,
}

/// One contribution to a conflict.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictEntryRecord {
    pub device_id: String,
    pub author_id: String,
    pub action: String,
    /// The value it asserted (JSON text), for value, position and parent conflicts.
    pub value: Option<String>,
    /// Taken back by its device since.
    pub withdrawn: bool,
    /// Wall time the device stamped it with (ms; shown, never used to decide).
    pub at_ms: u64,
}

/// An open conflict record on an entity this device holds.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConflictRecord {
    pub id: String,
    pub entity_id: String,
    pub entity_kind: String,
    /// The field (`answers/hh_size`) or `_existence`, `_structure`, `_workflow`, ….
    pub key: String,
    /// `value`, `position`, `parent`, `existence`, `structure`, `workflow`, `duplicate`.
    pub kind: String,
    /// The value shown meanwhile (JSON text).
    pub provisional: Option<String>,
    pub entries: Vec<ConflictEntryRecord>,
}

/// An operation the server (or the merge) refused, kept with its reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RefusedRecord {
    pub op_id: String,
    pub entity_id: String,
    pub entity_kind: String,
    pub action: String,
    pub code: String,
    pub message: String,
    /// Made on this device.
    pub own: bool,
}

/// What one pull page did (bring-your-own-HTTP apps).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PullOutcome {
    pub entities: u32,
    /// No more pages follow: stop pulling.
    pub complete: bool,
}

/// What one push acknowledgement did (bring-your-own-HTTP apps).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AckOutcome {
    pub accepted: u32,
    pub conflicted: u32,
    pub refused: u32,
    /// Operations still waiting to be pushed.
    pub unacknowledged: u32,
}
