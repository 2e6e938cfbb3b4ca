//! The login lockout policy: a pure state machine over failure timestamps. The server keeps one
//! [`State`] per account and one per source address (serialized with serde), asks [`Lockout::check`]
//! before verifying a password, and reports the outcome with [`Lockout::record_failure`] or
//! [`Lockout::record_success`]. Time is always passed in.
//!
//! Rules (sliding window): a failure older than `window` no longer counts. When the failures
//! still counting reach the limit (`max_failures` for an account, `max_failures_per_address` for
//! an address), the state is locked for `lock_for` from that failure and its failures are
//! cleared, so an unlocked state starts afresh. While locked, every attempt is refused, even
//! with the right password, and further failures neither count nor extend the lock. A success
//! clears the account's failures but never the address's, so an attacker who owns one account
//! cannot reset the counter of the address it is guessing other accounts from.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Limits of the lockout policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures within `window` that lock an account.
    pub max_failures: usize,
    /// How far back failures count.
    pub window: TimeDelta,
    /// How long a lock lasts.
    pub lock_for: TimeDelta,
    /// Failures within `window` from one source address (whatever the accounts) that lock the
    /// address.
    pub max_failures_per_address: usize,
}

impl Default for Policy {
    /// 5 failures per account or 20 per address within 15 minutes lock for 15 minutes.
    fn default() -> Self {
        Policy {
            max_failures: 5,
            window: TimeDelta::minutes(15),
            lock_for: TimeDelta::minutes(15),
            max_failures_per_address: 20,
        }
    }
}

/// The lockout state of one account or one source address, for the server to store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Times of the failures that may still count, oldest first.
    pub failures: Vec<DateTime<Utc>>,
    /// Locked until this time (exclusive), if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Whose lock refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockReason {
    /// Too many failures for this account.
    Account,
    /// Too many failures from this source address.
    Address,
}

/// May a login attempt proceed?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Verify the password.
    Allowed,
    /// Refuse without verifying the password.
    Locked {
        /// When the attempt may be retried.
        until: DateTime<Utc>,
        /// Which lock refused it (the account's when both apply and end at the same time).
        reason: LockReason,
    },
}

/// Which limit a state counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// An account's state (limit `max_failures`).
    Account,
    /// A source address's state (limit `max_failures_per_address`).
    Address,
}

/// The lockout policy; its methods are pure functions of the states and `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lockout {
    /// The limits.
    pub policy: Policy,
}

impl Lockout {
    /// A lockout with `policy`.
    pub fn new(policy: Policy) -> Self {
        Lockout { policy }
    }

    /// Whether an attempt on `account` from `address` may proceed at `now`. If both are locked,
    /// the later `until` is reported.
    pub fn check(&self, account: &State, address: &State, now: DateTime<Utc>) -> Decision {
        let lock = |state: &State, reason| {
            state.locked_until.filter(|&until| until > now).map(|until| (until, reason))
        };
        let account = lock(account, LockReason::Account);
        let address = lock(address, LockReason::Address);
        match (account, address) {
            (None, None) => Decision::Allowed,
            (Some((until, reason)), None) | (None, Some((until, reason))) => {
                Decision::Locked { until, reason }
            }
            (Some(a), Some(b)) => {
                let (until, reason) = if b.0 > a.0 { b } else { a };
                Decision::Locked { until, reason }
            }
        }
    }

    /// Records a failed attempt at `now` on the state of `subject` (call it for the account
    /// and for the address). Drops failures older than the window; locks when the limit is
    /// reached. Does nothing while the state is locked.
    pub fn record_failure(&self, state: &mut State, subject: Subject, now: DateTime<Utc>) {
        if state.locked_until.is_some_and(|until| until > now) {
            return;
        }
        state.locked_until = None;
        let since = now - self.policy.window;
        state.failures.retain(|&at| at > since);
        state.failures.push(now);
        let limit = match subject {
            Subject::Account => self.policy.max_failures,
            Subject::Address => self.policy.max_failures_per_address,
        };
        if state.failures.len() >= limit {
            state.failures.clear();
            state.locked_until = Some(now + self.policy.lock_for);
        }
    }

    /// Records a successful login on the *account's* state: its failures are forgotten. Do not
    /// call it for the address. An account that is locked stays locked (a success cannot happen
    /// while [`Lockout::check`] refuses).
    pub fn record_success(&self, account: &mut State) {
        account.failures.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-01-01T00:00:00Z";

    /// One step of a login scenario. Each `Fail`/`Succeed` is an attempt: it is checked first
    /// and must be allowed.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        /// A wrong password for `account` from `address`.
        Fail(usize, usize),
        /// The right password for `account` from `address`.
        Succeed(usize, usize),
        /// Let this many seconds pass.
        Wait(i64),
        /// An attempt on `account` from `address` is refused: locked for this many more
        /// seconds, for this reason.
        Refused(usize, usize, i64, LockReason),
        /// An attempt on `account` from `address` would be allowed.
        Allowed(usize, usize),
    }
    use LockReason::{Account as ByAccount, Address as ByAddress};
    use Step::*;

    /// Runs a scenario with a clock that advances one second per attempt plus any `Wait`, and
    /// the default policy.
    fn check(steps: &[Step]) {
        let lockout = Lockout::default();
        let mut accounts = vec![State::default(); 32];
        let mut addresses = vec![State::default(); 4];
        let mut now: DateTime<Utc> = T0.parse().unwrap();
        for (i, &step) in steps.iter().enumerate() {
            let decision = |accounts: &[State], addresses: &[State], acct: usize, addr: usize| {
                lockout.check(&accounts[acct], &addresses[addr], now)
            };
            match step {
                Fail(acct, addr) | Succeed(acct, addr) => {
                    assert_eq!(
                        decision(&accounts, &addresses, acct, addr),
                        Decision::Allowed,
                        "step {i}: {step:?}"
                    );
                    if let Fail(..) = step {
                        lockout.record_failure(&mut accounts[acct], Subject::Account, now);
                        lockout.record_failure(&mut addresses[addr], Subject::Address, now);
                    } else {
                        lockout.record_success(&mut accounts[acct]);
                    }
                    now += TimeDelta::seconds(1);
                }
                Wait(seconds) => now += TimeDelta::seconds(seconds),
                Refused(acct, addr, seconds, reason) => assert_eq!(
                    decision(&accounts, &addresses, acct, addr),
                    Decision::Locked { until: now + TimeDelta::seconds(seconds), reason },
                    "step {i}: {step:?}"
                ),
                Allowed(acct, addr) => assert_eq!(
                    decision(&accounts, &addresses, acct, addr),
                    Decision::Allowed,
                    "step {i}: {step:?}"
                ),
            }
        }
    }

    const LOCK: i64 = 15 * 60;

    #[test]
    fn five_failures_lock_the_account() {
        check(&[
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Allowed(0, 0),
            Fail(0, 0), // locked at t=4 until t=4+LOCK; the clock is now t=5
            Refused(0, 0, LOCK - 1, ByAccount),
            // The account is locked from every address; other accounts are not.
            Refused(0, 1, LOCK - 1, ByAccount),
            Allowed(1, 0),
        ]);
    }

    #[test]
    fn the_sixth_attempt_is_refused_even_with_the_right_password() {
        // `Succeed` asserts the attempt is allowed first: a refused check means the server
        // never verifies the password, so the right one does not help.
        check(&[
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Refused(0, 0, LOCK - 1, ByAccount),
        ]);
    }

    #[test]
    fn the_lock_ends_after_lock_for_and_counting_starts_afresh() {
        let mut steps = vec![Fail(0, 0); 5];
        steps.extend([Wait(LOCK - 2), Refused(0, 0, 1, ByAccount), Wait(1), Allowed(0, 0)]);
        // Four more failures do not lock again: the lock cleared the old ones.
        steps.extend([Fail(0, 0); 4]);
        steps.extend([Allowed(0, 0), Fail(0, 0), Refused(0, 0, LOCK - 1, ByAccount)]);
        check(&steps);
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut steps = vec![Fail(0, 0); 4]; // t=0..3
        steps.extend([
            Wait(LOCK - 4), // now t=900: the failure at t=0 is exactly one window old
            Fail(0, 0),     // counts t=1,2,3,900: four
            Allowed(0, 0),
            Fail(0, 0), // t=901: t=1 slides out, still four
            Allowed(0, 0),
            Wait(LOCK), // every failure is out of the window
        ]);
        steps.extend([Fail(0, 0); 4]);
        steps.extend([Allowed(0, 0), Fail(0, 0), Refused(0, 0, LOCK - 1, ByAccount)]);
        check(&steps);
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let lockout = Lockout::default();
        let t0: DateTime<Utc> = T0.parse().unwrap();
        let mut state = State::default();
        for _ in 0..5 {
            lockout.record_failure(&mut state, Subject::Account, t0);
        }
        let locked = state.clone();
        assert_eq!(locked.locked_until, Some(t0 + TimeDelta::minutes(15)));
        lockout.record_failure(&mut state, Subject::Account, t0 + TimeDelta::minutes(10));
        assert_eq!(state, locked);
    }

    #[test]
    fn one_address_hammering_many_accounts_is_locked() {
        // Four failures each on five accounts: no account reaches its limit, the address does.
        let mut steps = Vec::new();
        for account in 0..5 {
            steps.extend([Fail(account, 0); 4]);
        }
        steps.extend([
            Refused(5, 0, LOCK - 1, ByAddress),
            Refused(0, 0, LOCK - 1, ByAddress),
            // The accounts themselves are not locked: from another address they may log in.
            Allowed(0, 1),
            Succeed(5, 1),
        ]);
        check(&steps);
    }

    #[test]
    fn a_success_resets_the_accounts_failures_but_not_the_addresss() {
        let mut steps = vec![Fail(0, 0); 4];
        steps.push(Succeed(0, 0));
        steps.extend([Fail(0, 0); 4]);
        steps.push(Allowed(0, 0)); // 4 since the success: still allowed
                                   // The address has counted 8 failures; 12 more on other accounts lock it.
        for account in 1..4 {
            steps.extend([Fail(account, 0); 4]);
        }
        steps.push(Refused(9, 0, LOCK - 1, ByAddress));
        check(&steps);
    }

    #[test]
    fn the_address_limit_is_independent_of_the_account_limit() {
        // A locked account from one address leaves the address free for other accounts, and an
        // address lock reported alongside a later-ending account lock names the account.
        check(&[
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Fail(0, 0),
            Allowed(1, 0),
            Refused(0, 0, LOCK - 1, ByAccount),
        ]);
        let lockout = Lockout::default();
        let now: DateTime<Utc> = T0.parse().unwrap();
        let locked = |minutes| State {
            failures: Vec::new(),
            locked_until: Some(now + TimeDelta::minutes(minutes)),
        };
        let decision = |account: &State, address: &State| lockout.check(account, address, now);
        assert_eq!(
            decision(&locked(5), &locked(10)),
            Decision::Locked { until: now + TimeDelta::minutes(10), reason: ByAddress }
        );
        assert_eq!(
            decision(&locked(10), &locked(5)),
            Decision::Locked { until: now + TimeDelta::minutes(10), reason: ByAccount }
        );
        // An expired lock allows.
        assert_eq!(decision(&locked(0), &locked(-1)), Decision::Allowed);
    }

    #[test]
    fn custom_policy_limits_apply() {
        let lockout = Lockout::new(Policy {
            max_failures: 2,
            window: TimeDelta::seconds(10),
            lock_for: TimeDelta::seconds(30),
            max_failures_per_address: 3,
        });
        let t0: DateTime<Utc> = T0.parse().unwrap();
        let mut account = State::default();
        lockout.record_failure(&mut account, Subject::Account, t0);
        lockout.record_failure(&mut account, Subject::Account, t0 + TimeDelta::seconds(11));
        assert_eq!(account.locked_until, None, "the first failure left the 10 s window");
        lockout.record_failure(&mut account, Subject::Account, t0 + TimeDelta::seconds(12));
        assert_eq!(account.locked_until, Some(t0 + TimeDelta::seconds(42)));
        let mut address = State::default();
        for s in 0..2 {
            lockout.record_failure(&mut address, Subject::Address, t0 + TimeDelta::seconds(s));
        }
        assert_eq!(address.locked_until, None);
        lockout.record_failure(&mut address, Subject::Address, t0 + TimeDelta::seconds(2));
        assert_eq!(address.locked_until, Some(t0 + TimeDelta::seconds(32)));
    }

    #[test]
    fn state_round_trips_through_json() {
        let lockout = Lockout::default();
        let mut state = State::default();
        let t0: DateTime<Utc> = T0.parse().unwrap();
        lockout.record_failure(&mut state, Subject::Account, t0);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"failures":["2026-01-01T00:00:00Z"],"locked_until":null}"#);
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
    }
}
