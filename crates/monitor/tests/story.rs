//! A user story against a small login site the test starts: it passes, and when the site
//! breaks it fails naming the step and showing the response.

mod site;

use std::sync::atomic::Ordering;
use std::time::Duration;

use ward_monitor::story::Story;
use ward_monitor::State;

fn login_story(base: &str) -> String {
    format!(
        r#"
name = "login"
base_url = "{base}"

[[step]]
name = "open login page"
url = "/login"
status = [200]
contains = ["Sign in"]
extract = {{ csrf = 'name="csrf" value="([^"]+)"' }}

[[step]]
name = "log in"
method = "POST"
url = "/login"
form = {{ user = "ana", password = "s3cret", csrf = "{{{{csrf}}}}" }}
status = [200]
contains = ["Welcome, ana"]

[[step]]
name = "log out"
url = "/logout"
contains = ["Logged out"]
"#
    )
}

#[test]
fn the_login_story_passes_against_a_working_site() {
    let site = site::start();
    let story = Story::parse("login.toml", &login_story(&site.base)).unwrap();
    let r = story.run(Duration::from_secs(30));
    assert_eq!(r.state, State::Ok, "{}\n{}", r.summary, r.long_output);
    assert!(r.summary.starts_with("STORY OK - login: 3 steps passed in"), "{}", r.summary);
    let labels: Vec<_> = r.perfdata.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["time", "step1 open login page", "step2 log in", "step3 log out"]);
    assert!(r.long_output.contains("step 2 \"log in\": 200 OK"), "{}", r.long_output);
}

#[test]
fn a_broken_site_fails_at_the_login_step_with_an_excerpt() {
    let site = site::start();
    site.broken.store(true, Ordering::SeqCst);
    let story = Story::parse("login.toml", &login_story(&site.base)).unwrap();
    let r = story.run(Duration::from_secs(30));
    assert_eq!(r.state, State::Critical);
    assert_eq!(
        r.summary,
        "STORY CRITICAL - login: step 2 \"log in\" failed: status 403 Forbidden, expected 200"
    );
    assert!(r.long_output.contains("Invalid CSRF token"), "{}", r.long_output);
    assert_eq!(r.perfdata.len(), 2, "timings of the steps that ran");
}

#[test]
fn a_missing_csrf_token_fails_the_extracting_step() {
    let site = site::start();
    let text = login_story(&site.base)
        .replace("name=\\\"csrf\\\"", "x")
        .replace(r#"'name="csrf" value="([^"]+)"'"#, r#"'name="token" value="([^"]+)"'"#);
    let story = Story::parse("login.toml", &text).unwrap();
    let r = story.run(Duration::from_secs(30));
    assert_eq!(r.state, State::Critical);
    assert!(
        r.summary.contains("step 1 \"open login page\" failed: nothing to extract for \"csrf\""),
        "{}",
        r.summary
    );
}

#[test]
fn invalid_story_files_name_the_file_and_step() {
    let e = Story::parse("s.toml", "name = 'x'\n[[step]]\nname = 'a'\nurl = '/x'\n").unwrap_err();
    assert_eq!(e.to_string(), "s.toml: step 1 (\"a\"): a relative url needs base_url");
    let e = Story::parse("s.toml", "name = 'x'\nbase_url='http://h'\n[[step]]\nname = 'a'\nurl = '/x'\nextract = { v = 'no group' }\n").unwrap_err();
    assert!(e.to_string().contains("needs a capture group"), "{e}");
    let e = Story::parse("s.toml", "name = 'x'\nstep = []\ncolour = 1\n").unwrap_err();
    assert!(e.to_string().contains("colour"), "{e}");
}
