//! Respondent selection within a household: Kish's tables, and the seeded uniform draw that is
//! the alternative to them.
//!
//! # Kish's tables
//!
//! The interviewer lists the household's eligible adults in Kish's order — males from oldest to
//! youngest, then females from oldest to youngest ([`kish_order`]) — and numbers them 1..K. The
//! table assigned to the address says which number to interview (Kish, 1949, "A procedure for
//! objective respondent selection within the household", *JASA* 44:380–387):
//!
//! ```text
//! table  share  K=1  2  3  4  5  6+
//! A      1/6     1   1  1  1  1  1
//! B1     1/12    1   1  1  1  2  2
//! B2     1/12    1   1  1  2  2  2
//! C      1/6     1   1  2  2  3  3
//! D      1/6     1   2  2  3  4  4
//! E1     1/12    1   2  3  3  3  5
//! E2     1/12    1   2  3  4  5  5
//! F      1/6     1   2  3  4  5  6
//! ```
//!
//! When the tables are used in these shares, adult k of K is selected with probability 1/K for
//! K = 1, 2, 3, 4 and 6, but **not** otherwise: for K = 5 the probabilities are 1/6, 1/6, 1/4,
//! 1/6, 1/4, and for K ≥ 7 adults 1..6 have 1/6 each and adults 7.. are never selected.
//! [`probability`] gives these exact values, so weights can use them rather than 1/K.
//!
//! # The cycle of twelve
//!
//! The shares are realised by a fixed cycle of twelve slots ([`CYCLE`]) in which A, C, D and F
//! appear twice and B1, B2, E1 and E2 once, in the interleaved order
//! A, B1, C, D, E1, F, A, B2, C, D, E2, F. [`assign`] gives consecutive addresses consecutive
//! slots from a random start ([`start_slot`]): the start is `below(12)` of the stream
//! `sampling::seed::stream(seed, "kish", "")`, and address i (0-based) gets slot
//! (start + i) mod 12. Every address is thus equally likely to get any slot, and any twelve
//! consecutive addresses get exactly the shares above.
//!
//! # Seeded uniform choice
//!
//! [`uniform_select`] picks one of k eligible members with probability exactly 1/k from the
//! stream `sampling::seed::stream(seed, "respondent", household_id)`, so the choice is
//! reproducible per household and independent of every other household.

use crate::sampling::seed::stream;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of Kish's eight selection tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KishTable {
    /// 1 1 1 1 1 1 (share 1/6).
    A,
    /// 1 1 1 1 2 2 (share 1/12).
    B1,
    /// 1 1 1 2 2 2 (share 1/12).
    B2,
    /// 1 1 2 2 3 3 (share 1/6).
    C,
    /// 1 2 2 3 4 4 (share 1/6).
    D,
    /// 1 2 3 3 3 5 (share 1/12).
    E1,
    /// 1 2 3 4 5 5 (share 1/12).
    E2,
    /// 1 2 3 4 5 6 (share 1/6).
    F,
}

impl KishTable {
    /// The eight tables in Kish's order.
    pub const ALL: [KishTable; 8] = [
        KishTable::A,
        KishTable::B1,
        KishTable::B2,
        KishTable::C,
        KishTable::D,
        KishTable::E1,
        KishTable::E2,
        KishTable::F,
    ];

    /// The table's name: `"A"`, `"B1"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B1 => "B1",
            Self::B2 => "B2",
            Self::C => "C",
            Self::D => "D",
            Self::E1 => "E1",
            Self::E2 => "E2",
            Self::F => "F",
        }
    }

    /// The adult number to interview for K = 1, 2, 3, 4, 5 and 6 or more eligible adults.
    pub fn row(self) -> [u32; 6] {
        match self {
            Self::A => [1, 1, 1, 1, 1, 1],
            Self::B1 => [1, 1, 1, 1, 2, 2],
            Self::B2 => [1, 1, 1, 2, 2, 2],
            Self::C => [1, 1, 2, 2, 3, 3],
            Self::D => [1, 2, 2, 3, 4, 4],
            Self::E1 => [1, 2, 3, 3, 3, 5],
            Self::E2 => [1, 2, 3, 4, 5, 5],
            Self::F => [1, 2, 3, 4, 5, 6],
        }
    }

    /// The share of addresses that get this table: 1/6 for A, C, D, F; 1/12 for B1, B2, E1, E2.
    pub fn share(self) -> Probability {
        Probability::twelfths(self.twelfths())
    }

    /// The share in twelfths: how many of the twelve slots of [`CYCLE`] hold this table.
    fn twelfths(self) -> u64 {
        match self {
            Self::A | Self::C | Self::D | Self::F => 2,
            Self::B1 | Self::B2 | Self::E1 | Self::E2 => 1,
        }
    }
}

impl fmt::Display for KishTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KishTable {
    type Err = KishError;

    /// Parses a table name, ignoring ASCII case and surrounding spaces: `"b1"` is [`KishTable::B1`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|table| table.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| KishError::UnknownTable(s.to_string()))
    }
}

/// Problems with respondent-selection input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KishError {
    /// A table name that is not one of Kish's eight.
    #[error("unknown Kish table {0:?}; the tables are A, B1, B2, C, D, E1, E2, F")]
    UnknownTable(String),
}

impl KishError {
    /// The stable machine code of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTable(_) => "unknown_kish_table",
        }
    }
}

/// An exact probability: a reduced fraction `numerator / denominator` with
/// `0 <= numerator <= denominator` and `denominator > 0`. Zero is `0/1`, certainty `1/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Probability {
    numerator: u64,
    denominator: u64,
}

impl Probability {
    /// Probability zero (`0/1`).
    pub const ZERO: Probability = Probability {
        numerator: 0,
        denominator: 1,
    };
    /// Probability one (`1/1`).
    pub const ONE: Probability = Probability {
        numerator: 1,
        denominator: 1,
    };

    /// The fraction `numerator / denominator`, reduced; `None` unless `denominator > 0` and
    /// `numerator <= denominator`.
    pub fn new(numerator: u64, denominator: u64) -> Option<Probability> {
        if denominator == 0 || numerator > denominator {
            return None;
        }
        let g = gcd(numerator, denominator);
        Some(Probability {
            numerator: numerator / g,
            denominator: denominator / g,
        })
    }

    /// `n` twelfths, reduced (n <= 12).
    fn twelfths(n: u64) -> Probability {
        Probability::new(n.min(12), 12).unwrap_or(Probability::ZERO)
    }

    /// The numerator of the reduced fraction.
    pub fn numerator(self) -> u64 {
        self.numerator
    }

    /// The denominator of the reduced fraction (at least 1).
    pub fn denominator(self) -> u64 {
        self.denominator
    }

    /// The nearest `f64`.
    pub fn as_f64(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// Whether the probability is zero.
    pub fn is_zero(self) -> bool {
        self.numerator == 0
    }

    /// The exact sum, or `None` when it exceeds 1 or does not fit in 64-bit terms.
    pub fn checked_add(self, other: Probability) -> Option<Probability> {
        let g = gcd(self.denominator, other.denominator);
        let denominator = (self.denominator / g).checked_mul(other.denominator)?;
        let a = self.numerator.checked_mul(denominator / self.denominator)?;
        let b = other
            .numerator
            .checked_mul(denominator / other.denominator)?;
        Probability::new(a.checked_add(b)?, denominator)
    }
}

/// Writes the reduced fraction as `numerator/denominator`: `1/4`, `0/1`, `1/1`.
impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// The adult number (1-based, in Kish's order) that `table` selects among `adults` eligible
/// adults; `None` when there are none. Households of six or more use the 6+ column, so adults
/// 7 and beyond are never selected.
pub fn select(table: KishTable, adults: u32) -> Option<u32> {
    let column = adults.checked_sub(1)?.min(5) as usize;
    table.row().get(column).copied()
}

/// The exact probability that adult number `adult` (1-based, in Kish's order) of `adults` is
/// selected when tables are assigned in their shares (as [`assign`] does): the sum of the shares
/// of the tables that select that adult. `None` unless `1 <= adult <= adults`.
///
/// This is 1/K for K = 1, 2, 3, 4 and 6; for K = 5 it is 1/6, 1/6, 1/4, 1/6, 1/4; for K ≥ 7 it
/// is 1/6 for adults 1..6 and 0 for adults 7.. (who can never be interviewed).
pub fn probability(adult: u32, adults: u32) -> Option<Probability> {
    if adult == 0 || adult > adults {
        return None;
    }
    let twelfths = KishTable::ALL
        .into_iter()
        .filter(|&t| select(t, adults) == Some(adult))
        .map(KishTable::twelfths)
        .sum();
    Some(Probability::twelfths(twelfths))
}

/// The exact probabilities of adults 1..=`adults`, in order (empty for 0 adults).
pub fn probabilities(adults: u32) -> Vec<Probability> {
    (1..=adults)
        .filter_map(|k| probability(k, adults))
        .collect()
}

/// The cycle of twelve: the order in which tables are handed to consecutive addresses. A, C, D
/// and F appear twice, B1, B2, E1 and E2 once, interleaved so that any run of six addresses gets
/// each of A, C, D, F once.
pub const CYCLE: [KishTable; 12] = [
    KishTable::A,
    KishTable::B1,
    KishTable::C,
    KishTable::D,
    KishTable::E1,
    KishTable::F,
    KishTable::A,
    KishTable::B2,
    KishTable::C,
    KishTable::D,
    KishTable::E2,
    KishTable::F,
];

/// The 0-based slot of [`CYCLE`] that the first address gets: `below(12)` of the stream
/// `sampling::seed::stream(seed, "kish", "")`.
pub fn start_slot(seed: u64) -> usize {
    // below(12) < 12, so the conversion cannot truncate.
    stream(seed, "kish", "").below(CYCLE.len() as u64) as usize
}

/// The tables of `addresses` consecutive addresses: address i (0-based) gets
/// `CYCLE[(start_slot(seed) + i) % 12]`. Reproducible from the seed; assigning more addresses
/// extends the list without changing the earlier ones.
pub fn assign(addresses: usize, seed: u64) -> Vec<KishTable> {
    let start = start_slot(seed);
    (0..addresses)
        .map(|i| CYCLE[(start + i % CYCLE.len()) % CYCLE.len()])
        .collect()
}

/// Sex as recorded on the household roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Listed first.
    Male,
    /// Listed after males.
    Female,
    /// Not recorded or not male/female: listed after both.
    Unknown,
}

/// An eligible adult of a household, as needed to put adults in Kish's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Adult {
    /// Sex as recorded.
    pub sex: Sex,
    /// Age in completed years; `None` when unknown.
    pub age: Option<u32>,
}

/// The indices of `adults` in Kish's order: males from oldest to youngest, then females from
/// oldest to youngest, then adults of unknown sex from oldest to youngest. Within each sex an
/// unknown age comes after every known age. Ties (same sex and age) keep their input order, so
/// the roster's own order decides between them. Position p of the result is adult number p + 1.
pub fn kish_order(adults: &[Adult]) -> Vec<usize> {
    let rank = |sex: Sex| match sex {
        Sex::Male => 0u8,
        Sex::Female => 1,
        Sex::Unknown => 2,
    };
    let mut order: Vec<usize> = (0..adults.len()).collect();
    // A stable sort: equal keys keep their input order.
    order.sort_by_key(|&i| {
        let a = adults[i];
        (
            rank(a.sex),
            a.age.is_none(),
            std::cmp::Reverse(a.age.unwrap_or(0)),
        )
    });
    order
}

/// The index (into `adults`) of the adult that `table` selects: [`kish_order`], then
/// [`select`]. `None` when the list is empty.
pub fn respondent(table: KishTable, adults: &[Adult]) -> Option<usize> {
    let k = u32::try_from(adults.len()).unwrap_or(u32::MAX);
    let number = select(table, k)?;
    kish_order(adults).get(number as usize - 1).copied()
}

/// A seeded uniform choice of one of `k` eligible members: the 0-based index of the chosen
/// member (in the roster's order) and its selection probability, exactly 1/k. The index is
/// `below(k)` of the stream `sampling::seed::stream(seed, "respondent", household_id)`. `None`
/// when `k` is 0.
pub fn uniform_select(k: usize, seed: u64, household_id: &str) -> Option<(usize, Probability)> {
    let n = u64::try_from(k).ok().filter(|&n| n > 0)?;
    let chosen = stream(seed, "respondent", household_id).below(n);
    let index = usize::try_from(chosen).ok()?;
    Some((index, Probability::new(1, n)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_reduce_and_add_exactly() {
        assert_eq!(Probability::new(3, 12), Probability::new(1, 4));
        assert_eq!(Probability::new(0, 7), Some(Probability::ZERO));
        assert_eq!(Probability::new(2, 1), None);
        assert_eq!(Probability::new(0, 0), None);
        let sixth = Probability::new(1, 6).unwrap();
        let quarter = Probability::new(1, 4).unwrap();
        assert_eq!(sixth.checked_add(quarter), Probability::new(5, 12));
        assert_eq!(quarter.checked_add(Probability::ONE), None);
        assert_eq!(quarter.to_string(), "1/4");
    }

    #[test]
    fn the_start_slot_is_below_twelve() {
        for seed in 0..200 {
            assert!(start_slot(seed) < 12);
        }
    }
}
