//! Hybrid logical clock stamps.
//!
//! Every operation carries a stamp `(wall_ms, counter)` from the device's hybrid logical clock: the
//! largest wall time the clock has seen, and a counter that orders stamps within one millisecond
//! or while the device's clock runs backwards. The stamps of one device never go backwards, so
//! they order that device's operations, and they are what people are shown ("edited 3 May
//! 10:42"). They never decide a conflict: phone clocks are wrong after days offline, and the merge
//! does not read them at all.

use serde::{Deserialize, Serialize};

/// A hybrid logical clock stamp. Orders by wall time, then counter.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as far as the device could tell.
    pub wall_ms: u64,
    /// Orders stamps that share a wall time.
    #[serde(default)]
    pub counter: u32,
}

impl Hlc {
    /// A stamp at `wall_ms` with counter 0.
    pub const fn at(wall_ms: u64) -> Self {
        Self {
            wall_ms,
            counter: 0,
        }
    }
}

/// A device's clock state. The caller reads the device's wall clock and passes it in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock that has issued `last` (restored from storage).
    pub const fn new(last: Hlc) -> Self {
        Self { last }
    }

    /// The last stamp issued or observed.
    pub const fn last(&self) -> Hlc {
        self.last
    }

    /// A new stamp for a local event at wall time `now_ms`: strictly greater than every stamp
    /// issued or observed before, even when the wall clock went backwards.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let next = if now_ms > self.last.wall_ms {
            Hlc::at(now_ms)
        } else {
            self.bump()
        };
        self.last = next;
        next
    }

    /// Takes a stamp seen from elsewhere into account, so that later local stamps sort after it.
    /// Optional: mapframe's merge never compares stamps of different devices.
    pub fn observe(&mut self, seen: Hlc, now_ms: u64) {
        let candidate = seen.max(Hlc::at(now_ms));
        if candidate > self.last {
            self.last = candidate;
        }
    }

    fn bump(&self) -> Hlc {
        match self.last.counter.checked_add(1) {
            Some(counter) => Hlc {
                wall_ms: self.last.wall_ms,
                counter,
            },
            None => Hlc::at(self.last.wall_ms.saturating_add(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_increase_even_when_the_wall_clock_goes_back() {
        let mut c = HlcClock::default();
        let a = c.tick(1_000);
        let b = c.tick(1_000);
        let d = c.tick(500);
        let e = c.tick(2_000);
        assert!(a < b && b < d && d < e);
        assert_eq!(d.wall_ms, 1_000);
        assert_eq!(e, Hlc::at(2_000));
    }

    #[test]
    fn observing_a_later_stamp_moves_the_clock_forward() {
        let mut c = HlcClock::new(Hlc::at(10));
        c.observe(Hlc::at(50), 20);
        assert!(c.tick(30) > Hlc::at(50));
    }
}
