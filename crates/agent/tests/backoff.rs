//! Backoff: full-jitter bounds, the cap, reset, determinism per seed, growth of the mean.

use std::time::Duration;

use ward_agent::backoff::Backoff;

const BASE: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_secs(60);

/// The first `n` delays of a fresh backoff, checking each against its ceiling
/// `min(max, base × 2^attempt)` and the attempt counter as it goes.
fn check(base: Duration, max: Duration, seed: u64, n: u32) -> Vec<Duration> {
    let mut backoff = Backoff::new(base, max, seed);
    (0..n)
        .map(|attempt| {
            assert_eq!(backoff.attempt(), attempt);
            let ceiling = ceiling(base, max, attempt);
            let delay = backoff.next_delay();
            assert!(delay <= ceiling, "seed {seed} attempt {attempt}: {delay:?} > {ceiling:?}");
            delay
        })
        .collect()
}

/// `min(max, base × 2^attempt)` in nanoseconds, computed independently of the crate.
fn ceiling(base: Duration, max: Duration, attempt: u32) -> Duration {
    let mut grown = base.as_nanos();
    for _ in 0..attempt {
        grown = grown.saturating_mul(2);
    }
    let nanos = grown.min(max.as_nanos()).min(u128::from(u64::MAX));
    Duration::from_nanos(u64::try_from(nanos).expect("capped at u64::MAX"))
}

#[test]
fn delays_stay_within_the_jitter_window_and_the_cap() {
    let cases = [
        (BASE, MAX, 1),
        (BASE, MAX, 0),
        (BASE, MAX, u64::MAX),
        (Duration::from_secs(1), Duration::from_secs(5), 7),
        (Duration::from_nanos(1), Duration::from_nanos(3), 42),
        // a base so small that attempts past 32 still grow below max.
        (Duration::from_nanos(1), MAX, 8),
        // base above max: every delay is capped at max.
        (Duration::from_secs(10), Duration::from_secs(2), 3),
        (Duration::from_secs(u64::MAX / 4), Duration::MAX, 9),
        (Duration::ZERO, MAX, 5),
    ];
    for (base, max, seed) in cases {
        let delays = check(base, max, seed, 40);
        if base.is_zero() {
            assert!(delays.iter().all(Duration::is_zero), "{delays:?}");
        }
    }
}

#[test]
fn late_attempts_are_capped_at_max_but_not_stuck_at_it() {
    let delays = check(BASE, MAX, 11, 200);
    // From attempt 10 on (100 ms × 2^10 > 60 s) the window is [0, max]: over 190 draws
    // some land in each half of it.
    let late = &delays[10..];
    assert!(late.iter().any(|d| *d > MAX / 2), "{late:?}");
    assert!(late.iter().any(|d| *d < MAX / 2), "{late:?}");
}

#[test]
fn same_seed_same_sequence_different_seed_different_sequence() {
    let a = check(BASE, MAX, 1234, 20);
    let b = check(BASE, MAX, 1234, 20);
    let c = check(BASE, MAX, 1235, 20);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn reset_starts_over_from_the_first_window() {
    let mut backoff = Backoff::new(BASE, MAX, 99);
    for _ in 0..12 {
        backoff.next_delay();
    }
    assert_eq!(backoff.attempt(), 12);
    backoff.reset();
    assert_eq!(backoff.attempt(), 0);
    for _ in 0..100 {
        assert!(backoff.next_delay() <= BASE);
        backoff.reset();
    }
}

#[test]
fn the_mean_delay_grows_with_the_attempt_until_the_cap() {
    // Mean over many seeds of the delay at each attempt: roughly half the ceiling.
    let seeds = 2000u64;
    let mut means = Vec::new();
    for attempt in 0..12usize {
        let total: Duration = (0..seeds).map(|seed| check(BASE, MAX, seed, 12)[attempt]).sum();
        means.push(total / seeds as u32);
    }
    for (attempt, mean) in means.iter().enumerate() {
        let ceiling = ceiling(BASE, MAX, attempt as u32);
        let (low, high) = (ceiling.mul_f64(0.4), ceiling.mul_f64(0.6));
        assert!(
            *mean >= low && *mean <= high,
            "attempt {attempt}: mean {mean:?} not near {:?}",
            ceiling / 2
        );
    }
    assert!(means[..10].windows(2).all(|w| w[0] < w[1]), "{means:?}");
}
