//! Retry spacing for the agent's calls to the server: exponential backoff with "full jitter"
//! (each delay is uniform in `[0, min(max, base × 2^attempt)]`), so a fleet whose server comes
//! back does not retry in lockstep.
//!
//! The generator is splitmix64, seeded by the caller (the agent uses time and pid): the same
//! seed gives the same delays, which is what the tests rely on. No clock is read here and
//! nothing sleeps; the caller sleeps for the returned delay.

use std::time::Duration;

/// Exponential backoff with full jitter; see the module documentation.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng_state: u64,
}

impl Backoff {
    /// A backoff whose first delay is at most `base` and whose delays never exceed `max`.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff { base, max, attempt: 0, rng_state: seed }
    }

    /// The delay before the next retry: uniform in `[0, min(max, base × 2^attempt)]`, where
    /// `attempt` is the number of delays handed out since the last [`reset`](Self::reset).
    pub fn next_delay(&mut self) -> Duration {
        let cap = nanos(self.ceiling());
        self.attempt = self.attempt.saturating_add(1);
        let random = self.next_u64();
        // Maps 64 random bits onto [0, cap] by multiplication (no modulo loop needed: the bias
        // is below 2^-64 per value, far under anything a retry schedule could notice).
        let scaled = (u128::from(random) * (u128::from(cap) + 1)) >> 64;
        Duration::from_nanos(u64::try_from(scaled).unwrap_or(cap))
    }

    /// Back to the first attempt (after a successful call).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many delays were handed out since creation or the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// `min(max, base × 2^attempt)`, computed without overflow.
    fn ceiling(&self) -> Duration {
        let (base, max) = (nanos(self.base), nanos(self.max));
        let grown = match base {
            0 => 0,
            // base < 2^64 and attempt < 64: the product fits in 128 bits.
            _ if self.attempt < 64 => u128::from(base) << self.attempt,
            _ => u128::MAX,
        };
        Duration::from_nanos(u64::try_from(grown.min(u128::from(max))).unwrap_or(max))
    }

    /// splitmix64 (Steele, Lea, Flood 2014): one 64-bit output per call.
    fn next_u64(&mut self) -> u64 {
        self.rng_state = self.rng_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
