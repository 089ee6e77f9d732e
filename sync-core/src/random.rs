//! The random number generator behind every draw in mapframe.
//!
//! One named, portable generator — ChaCha20 from `rand_chacha`, pinned — so that a seed gives the
//! same stream on a phone, on the server and in ten years. Values are built from its raw 64-bit
//! output by the formulas below, never by a library's convenience method whose algorithm could
//! change between versions.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// A reproducible stream of random numbers.
#[derive(Debug, Clone)]
pub struct Stream(ChaCha20Rng);

impl Stream {
    /// A stream from a 64-bit seed.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(seed))
    }

    /// A stream from a full 256-bit key.
    pub fn from_key(key: [u8; 32]) -> Self {
        Self(ChaCha20Rng::from_seed(key))
    }

    /// The next raw 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1): the top 53 bits over 2^53.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: one minus [`Stream::uniform`].
    pub fn uniform_open_closed(&mut self) -> f64 {
        1.0 - self.uniform()
    }

    /// Uniform integer in 0..n (n > 0), without modulo bias (Lemire's method with rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_for_a_seed_never_changes() {
        let mut s = Stream::new(20261121);
        let first: Vec<u64> = (0..3).map(|_| s.next_u64()).collect();
        insta::assert_debug_snapshot!(first);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut s = Stream::new(1);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[s.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
