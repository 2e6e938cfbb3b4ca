//! The `unit` built-in: reading hand-written `systemctl show` outputs (shaped like systemd
//! 252's, properties in systemd's own order, not the order asked), its parameters, and the
//! real run on this machine.

use std::time::Duration;

use ward_monitor::builtin::unit::UnitCheck;
use ward_monitor::builtin::{Builtin, Params};
use ward_monitor::State;

const ACTIVE_RUNNING: &str = "\
MainPID=812
Result=success
LoadState=loaded
ActiveState=active
SubState=running
StateChangeTimestamp=Mon 2024-05-06 09:14:02 UTC
ActiveEnterTimestamp=Mon 2024-05-06 09:14:02 UTC
";

const FAILED_EXIT_CODE: &str = "\
MainPID=0
Result=exit-code
LoadState=loaded
ActiveState=failed
SubState=failed
StateChangeTimestamp=Tue 2024-05-07 03:00:11 UTC
ActiveEnterTimestamp=Mon 2024-05-06 09:14:02 UTC
";

const NOT_FOUND: &str = "\
MainPID=0
Result=success
LoadState=not-found
ActiveState=inactive
SubState=dead
StateChangeTimestamp=
ActiveEnterTimestamp=
";

const ACTIVATING_AUTO_RESTART: &str = "\
MainPID=0
Result=exit-code
LoadState=loaded
ActiveState=activating
SubState=auto-restart
StateChangeTimestamp=Tue 2024-05-07 03:00:16 UTC
ActiveEnterTimestamp=Mon 2024-05-06 09:14:02 UTC
";

const MASKED_INACTIVE: &str = "\
MainPID=0
Result=success
LoadState=masked
ActiveState=inactive
SubState=dead
StateChangeTimestamp=
ActiveEnterTimestamp=
";

/// A target has no Result and no MainPID.
const TARGET_ACTIVE: &str = "\
LoadState=loaded
ActiveState=active
SubState=active
StateChangeTimestamp=Mon 2024-05-06 09:13:58 UTC
ActiveEnterTimestamp=Mon 2024-05-06 09:13:58 UTC
";

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Evaluates `show_output` for the check built from `pairs`; the result must have `state`
/// and exactly `summary`.
fn check(pairs: &[(&str, &str)], show_output: &str, state: State, summary: &str) {
    let unit = UnitCheck::from_params(&params(pairs)).unwrap_or_else(|e| panic!("{e}"));
    let r = unit.evaluate(show_output);
    assert_eq!((r.state, r.summary.as_str()), (state, summary), "{pairs:?}");
}

#[test]
fn recorded_outputs() {
    let nginx = [("name", "nginx")];
    check(
        &nginx,
        ACTIVE_RUNNING,
        State::Ok,
        "UNIT OK - nginx.service active (running) since Mon 2024-05-06 09:14:02 UTC, main PID 812",
    );
    check(
        &nginx,
        FAILED_EXIT_CODE,
        State::Critical,
        "UNIT CRITICAL - nginx.service failed (failed), result exit-code, \
         since Tue 2024-05-07 03:00:11 UTC (expected active)",
    );
    check(&nginx, NOT_FOUND, State::Unknown, "UNIT UNKNOWN - unit nginx.service not found");
    check(
        &nginx,
        ACTIVATING_AUTO_RESTART,
        State::Critical,
        "UNIT CRITICAL - nginx.service activating (auto-restart), result exit-code, \
         since Tue 2024-05-07 03:00:16 UTC (expected active)",
    );
    check(
        &nginx,
        MASKED_INACTIVE,
        State::Critical,
        "UNIT CRITICAL - nginx.service inactive (dead), masked, result success (expected active)",
    );
    check(
        &[("name", "multi-user.target")],
        TARGET_ACTIVE,
        State::Ok,
        "UNIT OK - multi-user.target active (active) since Mon 2024-05-06 09:13:58 UTC",
    );
    check(
        &nginx,
        "",
        State::Unknown,
        "UNIT UNKNOWN - nginx.service: systemctl show printed no ActiveState",
    );
}

#[test]
fn expect_lists_acceptable_states() {
    let pairs = [("name", "nginx.service"), ("expect", "active, activating")];
    check(
        &pairs,
        ACTIVATING_AUTO_RESTART,
        State::Ok,
        "UNIT OK - nginx.service activating (auto-restart)",
    );
    check(
        &[("name", "backup"), ("expect", "inactive")],
        ACTIVE_RUNNING,
        State::Critical,
        "UNIT CRITICAL - backup.service active (running), result success, \
         since Mon 2024-05-06 09:14:02 UTC (expected inactive)",
    );
    // A unit that does not exist is not "inactive as expected".
    check(
        &[("name", "backup"), ("expect", "inactive")],
        NOT_FOUND,
        State::Unknown,
        "UNIT UNKNOWN - unit backup.service not found",
    );
}

#[test]
fn parameters() {
    let unit = |pairs: &[(&str, &str)]| UnitCheck::from_params(&params(pairs));
    let ok = |pairs: &[(&str, &str)]| unit(pairs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok(&[("name", "nginx")]).unit, "nginx.service");
    assert_eq!(ok(&[("name", "getty@tty1")]).unit, "getty@tty1.service");
    assert_eq!(ok(&[("name", "php8.2-fpm")]).unit, "php8.2-fpm.service");
    assert_eq!(ok(&[("name", "apt-daily.timer")]).unit, "apt-daily.timer");
    assert_eq!(ok(&[("name", "nginx")]).expect, ["active"]);
    assert_eq!(
        ok(&[("name", "x"), ("expect", "failed,inactive,failed")]).expect,
        ["failed", "inactive"]
    );

    let err = |pairs: &[(&str, &str)]| unit(pairs).unwrap_err().to_string();
    assert_eq!(err(&[]), "unit: missing parameter \"name\"");
    assert!(err(&[("name", "--all")]).contains("not a unit name"), "{}", err(&[("name", "--all")]));
    assert!(err(&[("name", "a b")]).contains("not a unit name"));
    let e = err(&[("name", "nginx"), ("expect", "running")]);
    assert!(e.contains("\"running\" is not an active state (known: active, reloading"), "{e}");
    assert!(err(&[("name", "nginx"), ("path", "/")]).contains("unknown parameter \"path\""));
    let e = Builtin::from_params("unti", &params(&[])).unwrap_err().to_string();
    assert!(e.ends_with("file_age, unit)"), "{e}");
}

/// This machine's real systemctl. Without systemd as init (the CI container) the check is
/// UNKNOWN and says why; with systemd, a unit that cannot exist is UNKNOWN "not found".
#[test]
fn real_systemctl_is_unknown_without_systemd_or_for_a_missing_unit() {
    let b = Builtin::from_params("unit", &params(&[("name", "ward-test-no-such-unit")])).unwrap();
    let r = b.run(Duration::from_secs(30));
    assert_eq!(r.state, State::Unknown, "{}", r.summary);
    if std::path::Path::new("/run/systemd/system").exists() {
        assert_eq!(r.summary, "UNIT UNKNOWN - unit ward-test-no-such-unit.service not found");
    } else {
        assert!(
            r.summary.starts_with("UNIT UNKNOWN - ward-test-no-such-unit.service: ")
                && r.summary
                    .ends_with("(systemd is not running here: /run/systemd/system is absent)"),
            "{}",
            r.summary
        );
        if which_systemctl() {
            // systemctl's own reason, e.g. "System has not been booted with systemd as init
            // system (PID 1). Can't operate."
            assert!(r.summary.contains("systemctl show failed (exit code 1): "), "{}", r.summary);
        } else {
            assert!(r.summary.contains("systemctl not found"), "{}", r.summary);
        }
    }
}

fn which_systemctl() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("systemctl").is_file()))
        .unwrap_or(false)
}
