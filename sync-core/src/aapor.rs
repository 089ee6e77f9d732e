//! AAPOR final dispositions and outcome rates for in-person household surveys.
//!
//! The codes, categories and formulas are those of the AAPOR *Standard Definitions* (the table of
//! final disposition codes for in-person household surveys):
//!
//! - [`Disposition`] is one final disposition code (`1.1` complete … `4.90` other ineligible),
//!   parsed strictly from what survey teams type into spreadsheets (`"2.1"` is `2.10`) and shown
//!   back as the canonical code, with English and Chinese labels.
//! - [`Category`] is the letter each code contributes to in the rate formulas: I, P, R, NC, O,
//!   UH, UO, NE.
//! - [`final_disposition`] turns a household's visit history into its final code.
//! - [`rates`] computes RR1–RR6, COOP1–4, REF1–3 and CON1–3 from (possibly weighted) [`Counts`];
//!   a rate whose denominator is zero is `None`, never NaN.
//! - [`rates_from_table`] counts a CSV table of cases, overall and per group, and reports every
//!   bad cell by row and column.

use crate::table::{Column, Table, TableError, TableErrorCode};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// The letter a disposition contributes to in the AAPOR rate formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Category {
    /// Complete interview (1.1).
    I,
    /// Partial interview (1.2).
    P,
    /// Refusal and break-off (2.1x).
    R,
    /// Non-contact (2.2x).
    NC,
    /// Other eligible non-interview (2.3x).
    O,
    /// Unknown if housing unit (3.1x).
    UH,
    /// Housing unit, unknown eligibility, and other unknown (3.2x, 3.9x).
    UO,
    /// Not eligible (4.x).
    NE,
}

impl Category {
    /// Every category, in the order AAPOR lists them.
    pub const ALL: [Category; 8] = [
        Category::I,
        Category::P,
        Category::R,
        Category::NC,
        Category::O,
        Category::UH,
        Category::UO,
        Category::NE,
    ];

    /// The letters used in the formulas and in JSON: `"I"`, `"NC"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Category::I => "I",
            Category::P => "P",
            Category::R => "R",
            Category::NC => "NC",
            Category::O => "O",
            Category::UH => "UH",
            Category::UO => "UO",
            Category::NE => "NE",
        }
    }

    /// What the letter stands for, in English.
    pub fn label(self) -> &'static str {
        match self {
            Category::I => "complete interview",
            Category::P => "partial interview",
            Category::R => "refusal and break-off",
            Category::NC => "non-contact",
            Category::O => "other eligible non-interview",
            Category::UH => "unknown if housing unit",
            Category::UO => "unknown eligibility, other",
            Category::NE => "not eligible",
        }
    }

    /// Rank in the visit-history priority rule of [`final_disposition`]: higher wins.
    fn priority(self) -> u8 {
        match self {
            Category::I => 7,
            Category::P => 6,
            Category::NE => 5,
            Category::R => 4,
            Category::O => 3,
            Category::NC => 2,
            Category::UO => 1,
            Category::UH => 0,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! dispositions {
    ($($variant:ident => $code:literal, $category:ident, $label:literal, $label_zh:literal;)*) => {
        /// A final disposition code of the AAPOR table for in-person household surveys.
        ///
        /// Parse it with [`str::parse`] (see [`Disposition::from_str`] for what is accepted);
        /// `Display` writes the canonical code (`"2.10"`, `"4.61"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Disposition {
            $(
                #[doc = concat!($code, " ", $label, " (", $label_zh, ")")]
                $variant,
            )*
        }

        impl Disposition {
            /// Every code, in the order of the AAPOR table.
            pub const ALL: &'static [Disposition] = &[$(Disposition::$variant,)*];

            /// The canonical code, as AAPOR writes it: `"1.1"`, `"2.10"`, `"2.111"`.
            pub fn code(self) -> &'static str {
                match self { $(Disposition::$variant => $code,)* }
            }

            /// The rate category the code counts in.
            pub fn category(self) -> Category {
                match self { $(Disposition::$variant => Category::$category,)* }
            }

            /// The English label of the AAPOR table.
            pub fn label(self) -> &'static str {
                match self { $(Disposition::$variant => $label,)* }
            }

            /// A short Chinese label.
            pub fn label_zh(self) -> &'static str {
                match self { $(Disposition::$variant => $label_zh,)* }
            }
        }
    };
}

dispositions! {
    Complete => "1.1", I, "Complete", "完成访问";
    Partial => "1.2", P, "Partial", "部分完成";
    RefusalAndBreakOff => "2.10", R, "Refusal and break-off", "拒访和中断";
    Refusal => "2.11", R, "Refusal", "拒访";
    HouseholdRefusal => "2.111", R, "Household-level refusal", "住户拒访";
    KnownRespondentRefusal => "2.112", R, "Known-respondent refusal", "受访者拒访";
    BreakOff => "2.12", R, "Break-off", "中途中断";
    NonContact => "2.20", NC, "Non-contact", "未接触";
    UnableToEnter => "2.23", NC, "Unable to enter building/reach housing unit", "无法进入楼栋或到达住户";
    NoOneAtResidence => "2.24", NC, "No one at residence", "家中无人";
    RespondentAway => "2.25", NC, "Respondent away/unavailable", "受访者外出或不便";
    OtherNonInterview => "2.30", O, "Other", "其他未访问";
    Dead => "2.31", O, "Dead", "受访者已故";
    Incapable => "2.32", O, "Physically or mentally unable/incompetent", "身体或精神原因无法受访";
    Language => "2.33", O, "Language", "语言障碍";
    HouseholdLanguage => "2.331", O, "Household-level language problem", "住户语言障碍";
    RespondentLanguage => "2.332", O, "Respondent language problem", "受访者语言障碍";
    NoInterviewerForLanguage => "2.333", O, "No interviewer available for needed language", "无相应语言访员";
    Miscellaneous => "2.36", O, "Miscellaneous", "其他原因";
    UnknownIfHousingUnit => "3.10", UH, "Unknown if housing unit", "未知是否住宅";
    NotAttempted => "3.11", UH, "Not attempted or worked", "未尝试访问";
    UnsafeArea => "3.17", UH, "Unable to reach/unsafe area", "无法到达或区域不安全";
    AddressNotFound => "3.18", UH, "Unable to locate address", "找不到地址";
    UnknownIfEligible => "3.20", UO, "Housing unit, unknown if eligible respondent", "住宅，未知有无合格受访者";
    NoScreener => "3.21", UO, "No screener completed", "未完成甄别";
    UnknownOther => "3.90", UO, "Other", "其他资格未知";
    OutOfSample => "4.10", NE, "Out of sample", "样本外";
    NotAHousingUnit => "4.50", NE, "Not a housing unit", "非住宅";
    Business => "4.51", NE, "Business, government office, other organization", "商业、机关或其他单位";
    Institution => "4.52", NE, "Institution", "机构住所";
    GroupQuarters => "4.53", NE, "Group quarters", "集体宿舍";
    Vacant => "4.60", NE, "Vacant housing unit", "空置住宅";
    RegularVacant => "4.61", NE, "Regular, vacant residences", "空房空户";
    SeasonalVacant => "4.62", NE, "Seasonal/vacation/temporary residence", "季节性或临时住所";
    OtherVacant => "4.63", NE, "Other", "其他空置";
    NoEligibleRespondent => "4.70", NE, "No eligible respondent", "无合格受访者";
    QuotaFilled => "4.80", NE, "Quota filled", "配额已满";
    OtherIneligible => "4.90", NE, "Other", "其他不合格";
}

/// The headings of the AAPOR table: codes that name a whole category, not a final outcome.
const WHOLE_CATEGORIES: [(&str, &str); 4] = [
    ("1", "interview"),
    ("2", "eligible, non-interview"),
    ("3", "unknown eligibility, non-interview"),
    ("4", "not eligible"),
];

impl FromStr for Disposition {
    type Err = AaporError;

    /// Parses a code. Accepted: the canonical code (`"2.111"`), surrounded by any white space,
    /// and — because spreadsheets store codes as numbers and drop trailing zeros — the code with
    /// its trailing zero dropped (`"2.1"` for 2.10, `"4.6"` for 4.60). Refused: the empty text,
    /// the whole-category headings (`"2"`, `"2.0"`), which say too little to count, and anything
    /// else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(AaporError::EmptyCode);
        }
        if let Some(&d) = Disposition::ALL
            .iter()
            .find(|d| d.code() == t || d.code().strip_suffix('0') == Some(t))
        {
            return Ok(d);
        }
        let (head, tail) = t.split_once('.').unwrap_or((t, ""));
        if tail.bytes().all(|b| b == b'0')
            && let Some(&(digit, label)) = WHOLE_CATEGORIES.iter().find(|(d, _)| *d == head)
        {
            let codes: Vec<&str> = Disposition::ALL
                .iter()
                .map(|d| d.code())
                .filter(|c| c.split_once('.').map(|(h, _)| h) == Some(digit))
                .collect();
            return Err(AaporError::WholeCategory {
                text: t.to_string(),
                label,
                codes: codes.join(", "),
            });
        }
        Err(AaporError::UnknownCode(t.to_string()))
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Disposition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Disposition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Problems with dispositions and rate options.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AaporError {
    /// No code where one was needed.
    #[error("empty disposition code")]
    EmptyCode,
    /// Text that is not a code of the in-person table.
    #[error(
        "unknown disposition code {0:?}; the in-person codes run 1.1–1.2, 2.10–2.36, 3.10–3.90 and 4.10–4.90"
    )]
    UnknownCode(String),
    /// A heading of the table (`"2"`): too coarse to count in a rate.
    #[error(
        "{text:?} is the whole category \"{label}\", not a final disposition; use one of its codes: {codes}"
    )]
    WholeCategory {
        /// The text as given.
        text: String,
        /// What the category is.
        label: &'static str,
        /// Its codes, comma-separated.
        codes: String,
    },
    /// An `e` outside 0..=1.
    #[error("e must be a number from 0 to 1, found {0}")]
    EOutOfRange(f64),
}

impl AaporError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            AaporError::EmptyCode => "empty_disposition",
            AaporError::UnknownCode(_) => "unknown_disposition",
            AaporError::WholeCategory { .. } => "whole_category_disposition",
            AaporError::EOutOfRange(_) => "e_out_of_range",
        }
    }
}

/// The final disposition of a case from its visits, oldest first; `None` when there were none.
///
/// Priority, highest first: complete (1.1) > partial (1.2) > an established ineligibility (4.x) >
/// refusal or break-off (2.1x) > other eligible non-interview (2.3x) > non-contact (2.2x) >
/// unknown eligibility (3.2x, 3.9x) > unknown if housing unit (3.1x). Within the winning group the
/// most recent visit's code is final.
pub fn final_disposition(visits: &[Disposition]) -> Option<Disposition> {
    visits.iter().copied().fold(None, |best, d| match best {
        Some(b) if b.category().priority() > d.category().priority() => Some(b),
        _ => Some(d),
    })
}

/// Cases (or sums of weights) per rate category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Complete interviews.
    #[serde(rename = "I", serialize_with = "count")]
    pub i: f64,
    /// Partial interviews.
    #[serde(rename = "P", serialize_with = "count")]
    pub p: f64,
    /// Refusals and break-offs.
    #[serde(rename = "R", serialize_with = "count")]
    pub r: f64,
    /// Non-contacts.
    #[serde(rename = "NC", serialize_with = "count")]
    pub nc: f64,
    /// Other eligible non-interviews.
    #[serde(rename = "O", serialize_with = "count")]
    pub o: f64,
    /// Unknown if housing unit.
    #[serde(rename = "UH", serialize_with = "count")]
    pub uh: f64,
    /// Unknown eligibility, other.
    #[serde(rename = "UO", serialize_with = "count")]
    pub uo: f64,
    /// Not eligible.
    #[serde(rename = "NE", serialize_with = "count")]
    pub ne: f64,
}

/// Writes whole counts as JSON integers (`400`, not `400.0`), weighted sums as they are.
fn count<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

impl Counts {
    /// Unweighted counts of dispositions.
    pub fn of(dispositions: impl IntoIterator<Item = Disposition>) -> Counts {
        let mut c = Counts::default();
        for d in dispositions {
            c.add(d.category(), 1.0);
        }
        c
    }

    /// Adds `weight` (1 for an unweighted count) to a category.
    pub fn add(&mut self, category: Category, weight: f64) {
        *self.get_mut(category) += weight;
    }

    /// The count of a category.
    pub fn get(&self, category: Category) -> f64 {
        match category {
            Category::I => self.i,
            Category::P => self.p,
            Category::R => self.r,
            Category::NC => self.nc,
            Category::O => self.o,
            Category::UH => self.uh,
            Category::UO => self.uo,
            Category::NE => self.ne,
        }
    }

    fn get_mut(&mut self, category: Category) -> &mut f64 {
        match category {
            Category::I => &mut self.i,
            Category::P => &mut self.p,
            Category::R => &mut self.r,
            Category::NC => &mut self.nc,
            Category::O => &mut self.o,
            Category::UH => &mut self.uh,
            Category::UO => &mut self.uo,
            Category::NE => &mut self.ne,
        }
    }

    /// The sum over all categories.
    pub fn total(&self) -> f64 {
        Category::ALL.iter().map(|&c| self.get(c)).sum()
    }

    /// The proportional estimate of `e`: (I+P+R+NC+O) / (I+P+R+NC+O+NE), the share of the cases
    /// whose eligibility was established that were eligible; `None` when there are no such cases.
    pub fn proportional_e(&self) -> Option<f64> {
        let eligible = self.i + self.p + self.r + self.nc + self.o;
        ratio(eligible, eligible + self.ne)
    }
}

/// How `e` — the share of unknown-eligibility cases (UH, UO) assumed eligible — is obtained: given
/// by the statistician, or estimated proportionally from the counts
/// ([`Counts::proportional_e`]). A validated value: a given `e` is always in 0..=1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EMethod(Option<f64>);

impl EMethod {
    /// Estimate `e` from the counts.
    pub const PROPORTIONAL: EMethod = EMethod(None);

    /// A given `e`, which must be a number from 0 to 1.
    pub fn given(e: f64) -> Result<EMethod, AaporError> {
        if (0.0..=1.0).contains(&e) {
            Ok(EMethod(Some(e)))
        } else {
            Err(AaporError::EOutOfRange(e))
        }
    }

    /// The given value, or `None` when `e` is estimated.
    pub fn given_value(self) -> Option<f64> {
        self.0
    }

    /// `"given"` or `"proportional"`.
    pub fn as_str(self) -> &'static str {
        match self.0 {
            Some(_) => "given",
            None => "proportional",
        }
    }
}

impl Serialize for EMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The AAPOR outcome rates, each `None` when its denominator is zero (or, for RR3, RR4, REF2 and
/// CON2, when `e` cannot be estimated).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// The `e` used: as given, or as estimated.
    pub e: Option<f64>,
    /// Whether `e` was given or estimated.
    pub e_method: EMethod,
    /// I / ((I+P) + (R+NC+O) + (UH+UO)).
    #[serde(rename = "RR1")]
    pub rr1: Option<f64>,
    /// (I+P) / ((I+P) + (R+NC+O) + (UH+UO)).
    #[serde(rename = "RR2")]
    pub rr2: Option<f64>,
    /// I / ((I+P) + (R+NC+O) + e(UH+UO)).
    #[serde(rename = "RR3")]
    pub rr3: Option<f64>,
    /// (I+P) / ((I+P) + (R+NC+O) + e(UH+UO)).
    #[serde(rename = "RR4")]
    pub rr4: Option<f64>,
    /// I / ((I+P) + (R+NC+O)).
    #[serde(rename = "RR5")]
    pub rr5: Option<f64>,
    /// (I+P) / ((I+P) + (R+NC+O)).
    #[serde(rename = "RR6")]
    pub rr6: Option<f64>,
    /// I / ((I+P) + R + O).
    #[serde(rename = "COOP1")]
    pub coop1: Option<f64>,
    /// (I+P) / ((I+P) + R + O).
    #[serde(rename = "COOP2")]
    pub coop2: Option<f64>,
    /// I / ((I+P) + R).
    #[serde(rename = "COOP3")]
    pub coop3: Option<f64>,
    /// (I+P) / ((I+P) + R).
    #[serde(rename = "COOP4")]
    pub coop4: Option<f64>,
    /// R / ((I+P) + (R+NC+O) + (UH+UO)).
    #[serde(rename = "REF1")]
    pub ref1: Option<f64>,
    /// R / ((I+P) + (R+NC+O) + e(UH+UO)).
    #[serde(rename = "REF2")]
    pub ref2: Option<f64>,
    /// R / ((I+P) + (R+NC+O)).
    #[serde(rename = "REF3")]
    pub ref3: Option<f64>,
    /// ((I+P) + R + O) / ((I+P) + (R+NC+O) + (UH+UO)).
    #[serde(rename = "CON1")]
    pub con1: Option<f64>,
    /// ((I+P) + R + O) / ((I+P) + (R+NC+O) + e(UH+UO)).
    #[serde(rename = "CON2")]
    pub con2: Option<f64>,
    /// ((I+P) + R + O) / ((I+P) + (R+NC+O)).
    #[serde(rename = "CON3")]
    pub con3: Option<f64>,
}

/// The names of the rates, in the order of [`Rates::named`].
pub const RATE_NAMES: [&str; 16] = [
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "COOP1", "COOP2", "COOP3", "COOP4", "REF1", "REF2",
    "REF3", "CON1", "CON2", "CON3",
];

impl Rates {
    /// Every rate with its name, in the order of [`RATE_NAMES`].
    pub fn named(&self) -> [(&'static str, Option<f64>); 16] {
        let values = [
            self.rr1, self.rr2, self.rr3, self.rr4, self.rr5, self.rr6, self.coop1, self.coop2,
            self.coop3, self.coop4, self.ref1, self.ref2, self.ref3, self.con1, self.con2,
            self.con3,
        ];
        let mut out = [("", None); 16];
        for (slot, (name, value)) in out.iter_mut().zip(RATE_NAMES.into_iter().zip(values)) {
            *slot = (name, value);
        }
        out
    }
}

/// `num / den`, or `None` when the denominator is zero or the result is not a finite number.
fn ratio(num: f64, den: f64) -> Option<f64> {
    if den > 0.0 {
        Some(num / den).filter(|r| r.is_finite())
    } else {
        None
    }
}

/// Computes every AAPOR outcome rate from counts, exactly as the Standard Definitions write them.
pub fn rates(c: &Counts, e: EMethod) -> Rates {
    let interviews = c.i + c.p;
    let eligible_non_interviews = c.r + c.nc + c.o;
    let unknown = c.uh + c.uo;
    let known = interviews + eligible_non_interviews;
    let all = known + unknown;
    let e_value = match e.given_value() {
        Some(v) => Some(v),
        None => c.proportional_e(),
    };
    let with_e = e_value.map(|e| known + e * unknown);
    let over_e = |num: f64| with_e.and_then(|den| ratio(num, den));
    let contacted = interviews + c.r + c.o;
    Rates {
        e: e_value,
        e_method: e,
        rr1: ratio(c.i, all),
        rr2: ratio(interviews, all),
        rr3: over_e(c.i),
        rr4: over_e(interviews),
        rr5: ratio(c.i, known),
        rr6: ratio(interviews, known),
        coop1: ratio(c.i, contacted),
        coop2: ratio(interviews, contacted),
        coop3: ratio(c.i, interviews + c.r),
        coop4: ratio(interviews, interviews + c.r),
        ref1: ratio(c.r, all),
        ref2: over_e(c.r),
        ref3: ratio(c.r, known),
        con1: ratio(contacted, all),
        con2: over_e(contacted),
        con3: ratio(contacted, known),
    }
}

/// Counts and rates of a set of cases (all of them, or one group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRates {
    /// Number of cases (rows), whatever their weights.
    pub cases: u64,
    /// Whether the counts are sums of weights.
    pub weighted: bool,
    /// Cases, or sums of weights, per category.
    #[serde(flatten)]
    pub counts: Counts,
    /// The rates of these counts.
    #[serde(flatten)]
    pub rates: Rates,
}

/// The result of [`rates_from_table`].
///
/// Serialised as `{"overall": {…}, "by": "COLUMN" | null, "groups": {"value": {…}, …}}`, each
/// `{…}` a flat [`GroupRates`] object.
#[derive(Debug, Clone, PartialEq)]
pub struct RatesReport {
    /// All cases together.
    pub overall: GroupRates,
    /// The grouping column's name as the header writes it, when grouped.
    pub by: Option<String>,
    /// One entry per distinct value of the grouping column (trimmed; a blank cell is the group
    /// `""`), in natural order: `A2` before `A10`.
    pub groups: Vec<(String, GroupRates)>,
}

impl Serialize for RatesReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Groups<'a>(&'a [(String, GroupRates)]);
        impl Serialize for Groups<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("overall", &self.overall)?;
        map.serialize_entry("by", &self.by)?;
        map.serialize_entry("groups", &Groups(&self.groups))?;
        map.end()
    }
}

/// What [`rates_from_table`] reads from a table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatesOptions<'a> {
    /// The column holding each case's final disposition code.
    pub code_column: &'a str,
    /// A column of case weights (numbers ≥ 0); counts are then sums of weights.
    pub weight_column: Option<&'a str>,
    /// A column to group cases by (area, interviewer, …).
    pub by_column: Option<&'a str>,
    /// How `e` is obtained. When estimated, each group's `e` comes from its own counts.
    pub e: EMethod,
}

/// At most this many problems are collected before [`rates_from_table`] stops listing them.
pub const MAX_ERRORS: usize = 50;

/// Every problem found in a table, each located by row and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TableErrors {
    /// The problems, in row order.
    pub errors: Vec<TableError>,
    /// More problems were found than are listed.
    pub truncated: bool,
}

impl fmt::Display for TableErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.truncated {
            write!(f, "\n(more problems not shown)")?;
        }
        Ok(())
    }
}

impl From<TableError> for TableErrors {
    fn from(e: TableError) -> Self {
        TableErrors {
            errors: vec![e],
            truncated: false,
        }
    }
}

impl TableErrors {
    fn push(&mut self, e: TableError) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        } else {
            self.truncated = true;
        }
    }
}

#[derive(Default)]
struct Tally {
    cases: u64,
    counts: Counts,
}

impl Tally {
    fn finish(&self, weighted: bool, e: EMethod) -> GroupRates {
        GroupRates {
            cases: self.cases,
            weighted,
            counts: self.counts,
            rates: rates(&self.counts, e),
        }
    }
}

/// Counts the cases of a table — one row per case, its final disposition in `code_column` — and
/// computes the rates overall and per group.
///
/// Every cell is checked before anything is returned: an empty or unknown code, or a missing,
/// negative or non-numeric weight, is a `bad_value` error at its row and column; a column that is
/// not in the header is `unknown_column`. Up to [`MAX_ERRORS`] problems are listed.
pub fn rates_from_table(
    table: &Table,
    options: &RatesOptions<'_>,
) -> Result<RatesReport, TableErrors> {
    let mut errors = TableErrors {
        errors: Vec::new(),
        truncated: false,
    };
    let mut find = |name: &str| table.column(name).map_err(|e| errors.push(e));
    let code = find(options.code_column);
    let weight = options.weight_column.map(&mut find);
    let by = options.by_column.map(&mut find);
    let (Ok(code), Ok(weight), Ok(by)) = (code, weight.transpose(), by.transpose()) else {
        return Err(errors);
    };
    let mut overall = Tally::default();
    let mut groups: HashMap<&str, Tally> = HashMap::new();
    for row in 0..table.len() {
        let disposition = match table.text(row, code).parse::<Disposition>() {
            Ok(d) => Some(d),
            Err(e) => {
                errors.push(table.error(row, code, TableErrorCode::BadValue, e.to_string()));
                None
            }
        };
        let w = match weight {
            None => Some(1.0),
            Some(c) => read_weight(table, row, c).map_err(|e| errors.push(e)).ok(),
        };
        let (Some(d), Some(w)) = (disposition, w) else {
            continue;
        };
        let add = |t: &mut Tally| {
            t.cases += 1;
            t.counts.add(d.category(), w);
        };
        add(&mut overall);
        if let Some(c) = by {
            add(groups.entry(table.text(row, c)).or_default());
        }
    }
    if !errors.errors.is_empty() {
        return Err(errors);
    }
    let weighted = weight.is_some();
    let mut groups: Vec<(String, GroupRates)> = groups
        .into_iter()
        .map(|(k, t)| (k.to_string(), t.finish(weighted, options.e)))
        .collect();
    groups.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    Ok(RatesReport {
        overall: overall.finish(weighted, options.e),
        by: by.map(|c| table.name(c).to_string()),
        groups,
    })
}

/// A case weight: a number ≥ 0.
fn read_weight(table: &Table, row: usize, c: Column) -> Result<f64, TableError> {
    match table.number(row, c)? {
        Some(w) if w >= 0.0 => Ok(w),
        Some(w) => Err(table.error(
            row,
            c,
            TableErrorCode::BadValue,
            format!("negative weight {w}; weights must be 0 or more"),
        )),
        None => Err(table.error(
            row,
            c,
            TableErrorCode::BadValue,
            "no weight; every case needs one (0 or more)",
        )),
    }
}

/// Natural order: runs of ASCII digits compare as numbers, the rest character by character; ties
/// (`"07"` and `"7"`) fall back to plain text order so that the order is total.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let key = |s| {
        chunks(s).into_iter().map(|(digits, c): (bool, &str)| {
            if digits {
                let n = c.trim_start_matches('0');
                (0u8, n.len(), n)
            } else {
                (1u8, 0, c)
            }
        })
    };
    key(a).cmp(key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_puts_numbers_in_numeric_order() {
        let mut v = vec!["A10", "A2", "", "B", "A02", "10", "9", "张三", "A2b"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["", "9", "10", "A02", "A2", "A2b", "A10", "B", "张三"]);
    }

    #[test]
    fn canonical_codes_round_trip() {
        for &d in Disposition::ALL {
            assert_eq!(d.to_string().parse::<Disposition>(), Ok(d));
        }
    }
}
