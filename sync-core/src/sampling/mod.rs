//! Probability sampling: frames, designs, draws, reserve replicates, multi-stage selection,
//! respondent selection and weights. Every draw is reproducible from its selection record.

pub mod allocation;
pub mod design;
pub mod frame;
pub mod kish;
pub mod methods;
pub mod multistage;
pub mod seed;
pub mod weighting;

pub use allocation::Allocation;
pub use design::{
    Design, Draw, Method, Reserve, SampleSize, SelectionRecord, UnitResult, draw, release, verify,
};
pub use frame::{Frame, FrameColumns};

/// Why a sample cannot be drawn, verified or released. Codes are stable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplingError {
    #[error("the frame has no units")]
    EmptyFrame,
    #[error("{}the sample ({n}) is larger than the frame ({units} units)", stratum_prefix(.stratum))]
    SampleLargerThanFrame { stratum: String, n: u64, units: u64 },
    #[error("{}{certainties} units qualify for certainty selection but the sample holds only {n}", stratum_prefix(.stratum))]
    TooManyCertainties {
        stratum: String,
        n: u64,
        certainties: u64,
    },
    #[error("{}units too large for PPS systematic without certainty selection: {}; use --certainty", stratum_prefix(.stratum), .units.join(", "))]
    OversizedUnits { stratum: String, units: Vec<String> },
    #[error("allocation: {0}")]
    BadAllocation(String),
    #[error("design: {0}")]
    BadDesign(String),
    #[error(
        "the frame is not the one the sample was drawn from: its hash is {found}, the record's is {expected}"
    )]
    FrameMismatch { expected: String, found: String },
    #[error("the draw does not reproduce: {0}")]
    SelectionMismatch(String),
    #[error("no reserve replicate left to release in {0}")]
    NoReserveLeft(String),
    #[error("no stratum is named {0:?}")]
    UnknownStratum(String),
    #[error("{0}")]
    Listing(String),
}

fn stratum_prefix(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("stratum {s:?}: ")
    }
}

impl SamplingError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyFrame => "empty_frame",
            Self::SampleLargerThanFrame { .. } => "sample_larger_than_frame",
            Self::TooManyCertainties { .. } => "too_many_certainties",
            Self::OversizedUnits { .. } => "oversized_units",
            Self::BadAllocation(_) => "bad_allocation",
            Self::BadDesign(_) => "bad_design",
            Self::FrameMismatch { .. } => "frame_mismatch",
            Self::SelectionMismatch(_) => "selection_mismatch",
            Self::NoReserveLeft(_) => "no_reserve_left",
            Self::UnknownStratum(_) => "unknown_stratum",
            Self::Listing(_) => "bad_listing",
        }
    }
}
