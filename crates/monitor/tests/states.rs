//! The state machine against the documented sequences: SOFT/HARD attempts, immediate HARD OK,
//! Icinga 2's flapping example, dependencies, downtimes, acknowledgements and stale passive
//! results. The clock is a number the test advances; nothing here depends on timing.

use std::time::Duration;

use ward_monitor::engine::{
    Acknowledgement, CheckConfig, DowntimeKind, Engine, FlappingThresholds, NotificationKind,
    Outcome, StateType, Suppressed,
};
use ward_monitor::time::{CronSchedule, Timestamp};
use ward_monitor::{CheckResult, State};

const T0: i64 = 1_790_000_000; // seconds; an arbitrary fixed instant

fn at(secs: i64) -> Timestamp {
    Timestamp::from_secs(T0 + secs)
}

fn result(state: State) -> CheckResult {
    CheckResult::new(state, format!("{state}: test"))
}

fn engine_with(name: &str, config: CheckConfig) -> Engine {
    let mut e = Engine::new();
    e.add_check(name, config).expect("valid check");
    e
}

/// Feeds `state` at `t` and checks (state type, attempt, hard change, notification kinds).
fn check(
    e: &mut Engine,
    name: &str,
    t: i64,
    state: State,
    expect: (StateType, u32, bool),
    notifications: &[(NotificationKind, Option<Suppressed>)],
) -> Outcome {
    let o = e.process(name, result(state), at(t)).expect("known check");
    assert_eq!((o.state_type, o.attempt, o.hard_change), expect, "t={t} {state}: {o:?}");
    let got: Vec<_> = o.notifications.iter().map(|n| (n.kind, n.suppressed.clone())).collect();
    assert_eq!(got, notifications, "t={t} {state}");
    o
}

use NotificationKind::{FlappingEnd, FlappingStart, Problem, Recovery};
use StateType::{Hard, Soft};

#[test]
fn soft_1_of_3_soft_2_of_3_hard_at_the_third_failure_and_immediate_hard_ok() {
    let mut e = engine_with("web", CheckConfig::default());
    let o = check(&mut e, "web", 0, State::Ok, (Hard, 1, false), &[]);
    assert_eq!(o.next_check, at(300), "OK: next check after the 5 min interval");
    let o = check(&mut e, "web", 300, State::Critical, (Soft, 1, false), &[]);
    assert_eq!(o.next_check, at(360), "SOFT: retry after 1 min");
    assert_eq!(o.max_attempts, 3);
    check(&mut e, "web", 360, State::Critical, (Soft, 2, false), &[]);
    let o = check(&mut e, "web", 420, State::Critical, (Hard, 3, true), &[(Problem, None)]);
    assert_eq!(o.next_check, at(720), "HARD: back to the normal interval");
    // Still CRITICAL: no new hard change, no new notification.
    check(&mut e, "web", 720, State::Critical, (Hard, 3, false), &[]);
    // WARNING after HARD CRITICAL is a hard state change at once.
    check(&mut e, "web", 1020, State::Warning, (Hard, 3, true), &[(Problem, None)]);
    // OK is HARD immediately and notifies the recovery.
    check(&mut e, "web", 1320, State::Ok, (Hard, 1, true), &[(Recovery, None)]);
    let st = e.status("web").unwrap();
    assert_eq!(st.last_hard_state, State::Ok);
    assert_eq!(st.last_hard_state_change, Some(at(1320)));
}

#[test]
fn a_soft_recovery_is_hard_ok_without_a_notification() {
    let mut e = engine_with("web", CheckConfig::default());
    check(&mut e, "web", 0, State::Ok, (Hard, 1, false), &[]);
    check(&mut e, "web", 60, State::Warning, (Soft, 1, false), &[]);
    check(&mut e, "web", 120, State::Critical, (Soft, 2, false), &[]);
    check(&mut e, "web", 180, State::Ok, (Hard, 1, false), &[]);
    // The attempt counter starts over.
    check(&mut e, "web", 240, State::Unknown, (Soft, 1, false), &[]);
}

#[test]
fn max_attempts_one_is_hard_at_the_first_failure() {
    let mut e = engine_with("db", CheckConfig { max_attempts: 1, ..CheckConfig::default() });
    check(&mut e, "db", 0, State::Critical, (Hard, 1, true), &[(Problem, None)]);
}

/// Changes at these positions of the 20-result window (0 = oldest) weigh
/// 0.8 + 0.02 × position each; together 7.82 of 20, a flapping value of 39.1 %.
const CHANGES: [usize; 8] = [0, 1, 6, 7, 8, 12, 18, 19];

fn flapping_history() -> Vec<State> {
    let mut state = State::Ok;
    (0..20)
        .map(|i| {
            if CHANGES.contains(&i) {
                state = if state == State::Ok { State::Critical } else { State::Ok };
            }
            state
        })
        .collect()
}

#[test]
fn icinga_flapping_example_39_1_percent_then_seven_stable_results_stop_it() {
    let config = CheckConfig {
        max_attempts: 1,
        flapping: Some(FlappingThresholds::default()),
        ..CheckConfig::default()
    };
    let mut e = engine_with("svc", config);
    let history = flapping_history();
    let mut started = 0;
    for (i, s) in history.iter().enumerate() {
        let o = e.process("svc", result(*s), at(i as i64 * 60)).unwrap();
        started += o.notifications.iter().filter(|n| n.kind == FlappingStart).count();
    }
    let st = e.status("svc").unwrap();
    assert!((st.flapping.value - 39.1).abs() < 1e-9, "{}", st.flapping.value);
    assert!(st.flapping.flapping);
    assert_eq!(started, 1, "flapping starts once");
    let last = *history.last().unwrap();
    // Six unchanged results: 34.4, 29.8, 29.2, 28.6, 28.0, 27.4 — all above 25 %, still flapping.
    let expected = [34.4, 29.8, 29.2, 28.6, 28.0, 27.4];
    for (k, v) in expected.iter().enumerate() {
        let o = e.process("svc", result(last), at(2000 + k as i64 * 60)).unwrap();
        let st = e.status("svc").unwrap();
        assert!((st.flapping.value - v).abs() < 1e-9, "{k}: {}", st.flapping.value);
        assert!(st.flapping.flapping);
        assert!(o.notifications.is_empty());
    }
    // The seventh brings it to 22.9 %, under 25 %: flapping stops.
    let o = e.process("svc", result(last), at(3000)).unwrap();
    let st = e.status("svc").unwrap();
    assert!((st.flapping.value - 22.9).abs() < 1e-9, "{}", st.flapping.value);
    assert!(!st.flapping.flapping);
    assert_eq!(o.notifications[0].kind, FlappingEnd);
}

#[test]
fn flapping_is_off_by_default_and_suppresses_problem_notifications_when_on() {
    let mut off = engine_with("svc", CheckConfig { max_attempts: 1, ..CheckConfig::default() });
    for (i, s) in flapping_history().iter().enumerate() {
        off.process("svc", result(*s), at(i as i64)).unwrap();
    }
    assert!(!off.status("svc").unwrap().flapping.flapping);
    assert_eq!(off.status("svc").unwrap().flapping.value, 0.0);

    let config = CheckConfig {
        max_attempts: 1,
        flapping: Some(FlappingThresholds::default()),
        ..CheckConfig::default()
    };
    let mut on = engine_with("svc", config);
    let mut suppressed = 0;
    for (i, s) in flapping_history().iter().enumerate() {
        let o = on.process("svc", result(*s), at(i as i64)).unwrap();
        suppressed +=
            o.notifications.iter().filter(|n| n.suppressed == Some(Suppressed::Flapping)).count();
    }
    assert!(suppressed > 0, "problem/recovery notifications while flapping are suppressed");
}

#[test]
fn a_failing_parent_makes_the_child_unreachable_and_silent() {
    let mut e = Engine::new();
    e.add_check("host-ping", CheckConfig { max_attempts: 1, ..CheckConfig::default() }).unwrap();
    let child = CheckConfig { parents: vec!["host-ping".into()], ..CheckConfig::default() };
    e.add_check("http", child).unwrap();
    check(&mut e, "host-ping", 0, State::Critical, (Hard, 1, true), &[(Problem, None)]);
    check(&mut e, "http", 10, State::Critical, (Soft, 1, false), &[]);
    check(&mut e, "http", 70, State::Critical, (Soft, 2, false), &[]);
    let unreachable = Some(Suppressed::Unreachable { parent: "host-ping".into() });
    check(&mut e, "http", 130, State::Critical, (Hard, 3, true), &[(Problem, unreachable)]);
    assert_eq!(e.status("http").unwrap().display_state(), "UNREACHABLE");
    // Its recovery is silent too: no problem was notified.
    check(&mut e, "http", 190, State::Ok, (Hard, 1, true), &[]);
    assert_eq!(e.status("http").unwrap().display_state(), "OK");
    // With the parent back up, the child's problems notify again.
    check(&mut e, "host-ping", 200, State::Ok, (Hard, 1, true), &[(Recovery, None)]);
    e.process("http", result(State::Critical), at(210)).unwrap();
    e.process("http", result(State::Critical), at(270)).unwrap();
    check(&mut e, "http", 330, State::Critical, (Hard, 3, true), &[(Problem, None)]);
    assert_eq!(e.status("http").unwrap().display_state(), "CRITICAL");
    assert!(e
        .add_check("x", CheckConfig { parents: vec!["nope".into()], ..Default::default() })
        .is_err());
}

#[test]
fn a_fixed_downtime_suppresses_notifications_and_ends() {
    let mut e = engine_with("web", CheckConfig { max_attempts: 1, ..CheckConfig::default() });
    let id = e
        .schedule_downtime("web", at(100), at(200), DowntimeKind::Fixed, "ops", "patching")
        .unwrap();
    check(&mut e, "web", 50, State::Ok, (Hard, 1, false), &[]);
    let in_downtime = Some(Suppressed::InDowntime { downtime: id });
    check(&mut e, "web", 150, State::Critical, (Hard, 1, true), &[(Problem, in_downtime)]);
    // The recovery is not notified either: nobody heard of the problem.
    check(&mut e, "web", 160, State::Ok, (Hard, 1, true), &[]);
    // After the window, problems notify.
    check(&mut e, "web", 200, State::Critical, (Hard, 1, true), &[(Problem, None)]);
    assert_eq!(e.active_downtime("web", at(199)), Some(id));
    assert_eq!(e.active_downtime("web", at(200)), None);
    e.remove_downtime(id).unwrap();
    assert!(e.remove_downtime(id).is_err());
}

#[test]
fn a_flexible_downtime_starts_with_the_first_problem() {
    let mut e = engine_with("web", CheckConfig { max_attempts: 1, ..CheckConfig::default() });
    let kind = DowntimeKind::Flexible { duration: Duration::from_secs(60) };
    let id = e.schedule_downtime("web", at(0), at(1000), kind, "ops", "reboot window").unwrap();
    assert_eq!(e.active_downtime("web", at(10)), None, "not active before a problem");
    let suppressed = Some(Suppressed::InDowntime { downtime: id });
    check(&mut e, "web", 500, State::Critical, (Hard, 1, true), &[(Problem, suppressed)]);
    assert_eq!(e.active_downtime("web", at(559)), Some(id));
    assert_eq!(e.active_downtime("web", at(560)), None, "lasts its duration from the trigger");
    check(&mut e, "web", 600, State::Warning, (Hard, 1, true), &[(Problem, None)]);
}

#[test]
fn a_recurring_downtime_follows_its_cron_schedule() {
    let mut e = engine_with("backup", CheckConfig { max_attempts: 1, ..CheckConfig::default() });
    let every_day_at_2 = CronSchedule::parse("0 2 * * *", "UTC").unwrap();
    let id = e
        .schedule_recurring_downtime("backup", every_day_at_2, Duration::from_secs(3600), "nightly")
        .unwrap();
    let day = |h: u32, m: u32| {
        Timestamp::from_utc(
            &chrono::DateTime::parse_from_rfc3339(&format!("2026-11-21T{h:02}:{m:02}:00Z"))
                .unwrap(),
        )
    };
    assert_eq!(e.active_downtime("backup", day(1, 59)), None);
    assert_eq!(e.active_downtime("backup", day(2, 0)), Some(id));
    assert_eq!(e.active_downtime("backup", day(2, 59)), Some(id));
    assert_eq!(e.active_downtime("backup", day(3, 0)), None);
    let o = e.process("backup", result(State::Critical), day(2, 30)).unwrap();
    assert_eq!(o.notifications[0].suppressed, Some(Suppressed::InDowntime { downtime: id }));
}

#[test]
fn acknowledgements_sticky_or_not_and_expiring() {
    let ack = |sticky, expires| Acknowledgement {
        author: "ana".into(),
        comment: "on it".into(),
        sticky,
        expires,
    };
    let one = CheckConfig { max_attempts: 1, ..CheckConfig::default() };
    // Non-sticky: WARNING → CRITICAL ends it, so the change notifies.
    let mut e = engine_with("web", one.clone());
    assert!(e.acknowledge("web", ack(false, None)).is_err(), "nothing to acknowledge while OK");
    check(&mut e, "web", 0, State::Warning, (Hard, 1, true), &[(Problem, None)]);
    e.acknowledge("web", ack(false, None)).unwrap();
    check(&mut e, "web", 60, State::Warning, (Hard, 1, false), &[]);
    assert!(e.status("web").unwrap().acknowledgement.is_some(), "same state keeps it");
    check(&mut e, "web", 120, State::Critical, (Hard, 1, true), &[(Problem, None)]);
    assert!(e.status("web").unwrap().acknowledgement.is_none());

    // Sticky: survives WARNING → CRITICAL (suppressed), ends at recovery.
    let mut e = engine_with("web", one.clone());
    check(&mut e, "web", 0, State::Warning, (Hard, 1, true), &[(Problem, None)]);
    e.acknowledge("web", ack(true, None)).unwrap();
    check(
        &mut e,
        "web",
        60,
        State::Critical,
        (Hard, 1, true),
        &[(Problem, Some(Suppressed::Acknowledged))],
    );
    check(&mut e, "web", 120, State::Ok, (Hard, 1, true), &[(Recovery, None)]);
    assert!(e.status("web").unwrap().acknowledgement.is_none());

    // Expiring: after its expiry the next change notifies.
    let mut e = engine_with("web", one);
    check(&mut e, "web", 0, State::Warning, (Hard, 1, true), &[(Problem, None)]);
    e.acknowledge("web", ack(true, Some(at(100)))).unwrap();
    check(
        &mut e,
        "web",
        50,
        State::Critical,
        (Hard, 1, true),
        &[(Problem, Some(Suppressed::Acknowledged))],
    );
    check(&mut e, "web", 150, State::Warning, (Hard, 1, true), &[(Problem, None)]);
}

#[test]
fn stale_passive_results_become_unknown() {
    let config = CheckConfig {
        passive: true,
        freshness: Some(Duration::from_secs(300)),
        ..CheckConfig::default()
    };
    let mut e = engine_with("backup", config);
    e.start_freshness(at(0));
    assert!(e.expire_stale(at(299)).is_empty());
    let stale = e.expire_stale(at(300));
    assert_eq!(stale.len(), 1);
    assert_eq!((stale[0].state, stale[0].state_type, stale[0].attempt), (State::Unknown, Soft, 1));
    let summary = &e.status("backup").unwrap().last_result.as_ref().unwrap().summary;
    assert_eq!(summary, "no result received yet");

    e.submit_passive("backup", result(State::Ok), None, at(400)).unwrap();
    assert!(e.expire_stale(at(699)).is_empty(), "fresh for 300 s after the result");
    let stale = e.expire_stale(at(700));
    assert_eq!(stale.len(), 1);
    let summary = &e.status("backup").unwrap().last_result.as_ref().unwrap().summary;
    assert_eq!(summary, &format!("no result since {}", at(400)));

    // A result's own TTL wins over the check's freshness.
    e.submit_passive("backup", result(State::Ok), Some(Duration::from_secs(30)), at(800)).unwrap();
    assert!(e.expire_stale(at(829)).is_empty());
    assert_eq!(e.expire_stale(at(830)).len(), 1);
    // Stale three times in a row becomes a HARD UNKNOWN.
    e.expire_stale(at(1130));
    let o = e.expire_stale(at(1430));
    assert_eq!((o[0].state_type, o[0].attempt, o[0].hard_change), (Hard, 3, true));
}
