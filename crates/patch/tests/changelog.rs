//! Debian changelogs: entries, CVE ids, errors with their lines, and `cves_since` boundaries
//! (equal versions, binNMUs, backports' `~`, epochs). `fixtures/perl.changelog` is modelled on
//! Debian's perl changelog; its parse agrees with `dpkg-parsechangelog --all`.

use ward_patch::changelog::{cves_since, parse, Parsed};

const PERL: &str = include_str!("fixtures/perl.changelog");

/// Parses `input` and compares a plain-text rendering of the result with `expect`: one line
/// per entry (`package version [distributions] urgency | maintainer | date | cves`), its change
/// lines prefixed with `|`, then one line per error.
fn check(input: &str, expect: &str) {
    let Parsed { entries, errors } = parse(input);
    let mut out = String::new();
    for e in &entries {
        out += &format!(
            "{} {} [{}] {} | {} | {} | {}\n",
            e.package,
            e.version,
            e.distributions,
            e.urgency,
            e.maintainer,
            e.date,
            e.cves.join(" ")
        );
        for line in e.changes.lines() {
            out += &format!("  |{line}\n");
        }
    }
    for e in &errors {
        out += &format!("error {e}\n");
    }
    let expect: String = expect.lines().map(|l| format!("{}\n", l.trim())).collect();
    let out: String = out.lines().map(|l| format!("{}\n", l.trim())).collect();
    assert_eq!(out.trim(), expect.trim(), "input:\n{input}");
}

#[test]
fn parses_a_perl_like_changelog() {
    check(
        PERL,
        "perl 5.36.0-7+deb12u4 [bookworm-security] high | Salvatore Bonaccorso <carnil@debian.org> | Sun, 13 Apr 2025 16:58:19 +0200 | CVE-2024-56406 CVE-2025-40909
           |  * Non-maintainer upload by the Security Team.
           |  * Fix heap buffer overflow in tr/// with wide characters (CVE-2024-56406)
           |    (Closes: #1103546)
           |  * Fix race condition in threads when changing the working directory
           |    (CVE-2025-40909)
           |  * Also fix cve-2024-56406 in the EBCDIC code path.
         perl 5.36.0-7+deb12u3 [bookworm] medium | Niko Tyni <ntyni@debian.org> | Sat, 05 Oct 2024 10:00:00 +0300 | CVE-2023-31484 CVE-2023-31486
           |  * Non-maintainer upload.
           |  * CPAN.pm: verify TLS certificates of HTTPS mirrors (CVE-2023-31484).
           |  * HTTP::Tiny: verify_SSL by default (CVE-2023-31486).
         perl 5.36.0-7+deb12u2+b1 [bookworm] low | amd64 / i386 Build Daemon (x86-conova-01) <buildd_amd64-x86-conova-01@buildd.debian.org> | Wed, 28 Aug 2024 09:14:21 +0000 |
           |  * Binary-only non-maintainer upload for amd64; no source changes.
           |  * Rebuild against libdb5.3 5.3.28+dfsg2-1
         perl 5.36.0-7+deb12u2 [bookworm] medium | Niko Tyni <ntyni@debian.org> | Sun, 10 Dec 2023 14:41:12 +0200 | CVE-2023-47038 CVE-2023-47039
           |  * Fix the out-of-bounds write in the regex compiler, a heap buffer overflow
           |    with a crafted regular expression (CVE-2023-47038, Closes: #1056746)
           |  * Do not crash in S_parse_uniprop_string (CVE-2023-47039 only affects
           |    Windows; documented, no code change).
         perl 5.36.0-7+deb12u1 [bookworm] medium | Niko Tyni <ntyni@debian.org> | Sat, 25 Mar 2023 16:23:16 +0200 |
           |  * Fix a regression in the base.pm fields pragma. (Closes: #1032112)
         perl 5.36.0-7~bpo11+1 [bullseye-backports] medium | Dominic Hargreaves <dom@earth.li> | Fri, 10 Mar 2023 11:00:00 +0000 |
           |  * Rebuild for bullseye-backports.
         perl 5.36.0-7 [unstable experimental] medium | Niko Tyni <ntyni@debian.org> | Sun, 05 Feb 2023 20:04:31 +0200 | CVE-2022-48522
           |  * Upload to unstable.
           |  * Mention CVE-2022-48522 and CVE-2022-48522 in the Sys::Syslog
           |    documentation.",
    );
}

#[test]
fn malformed_lines_are_reported_and_reading_goes_on() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        // A header without its ";": reported, its body skipped, the next entry read.
        (
            "foo (1.1) unstable urgency=high\n\n  * CVE-2024-0001\n\n -- A <a@b>  Mon, 01 Jan 2024 00:00:00 +0000\n\n\
             foo (1.0) unstable; urgency=low\n\n  * CVE-2023-0002\n\n -- A <a@b>  Sun, 01 Jan 2023 00:00:00 +0000\n",
            "foo 1.0 [unstable] low | A <a@b> | Sun, 01 Jan 2023 00:00:00 +0000 | CVE-2023-0002
               |  * CVE-2023-0002
             error line 1: badly formatted heading line \"foo (1.1) unstable urgency=high\": expected \"package (version) distribution; urgency=...\"",
        ),
        // A version with a space is not a header either; later entries still parse.
        (
            "foo (1.2 beta) unstable; urgency=low\n  * x\n -- A <a@b>  d\nfoo (1.1) sid; urgency=low\n  * y\n -- A <a@b>  d\n",
            "foo 1.1 [sid] low | A <a@b> | d |
               |  * y
             error line 1: badly formatted heading line \"foo (1.2 beta) unstable; urgency=low\": expected \"package (version) distribution; urgency=...\"",
        ),
        // A trailer without "<email>" keeps the entry, without maintainer and date.
        (
            "foo (1.1) unstable; urgency=medium\n  * Fix CVE-2024-1234.\n -- Jane Doe  Mon, 01 Jan 2024 00:00:00 +0000\nfoo (1.0) unstable; urgency=low\n  * first\n -- Jane Doe <jane@example.org>  Sun, 01 Jan 2023 00:00:00 +0000\n",
            "foo 1.1 [unstable] medium |  |  | CVE-2024-1234
               |  * Fix CVE-2024-1234.
             foo 1.0 [unstable] low | Jane Doe <jane@example.org> | Sun, 01 Jan 2023 00:00:00 +0000 |
               |  * first
             error line 3: badly formatted trailer line \" -- Jane Doe  Mon, 01 Jan 2024 00:00:00 +0000\": expected \" -- name <email>  date\"",
        ),
        // A trailer with an email but no date.
        (
            "foo (1.0) unstable; urgency=low\n  * x\n -- Jane Doe <jane@example.org>\n",
            "foo 1.0 [unstable] low |  |  |
               |  * x
             error line 3: badly formatted trailer line \" -- Jane Doe <jane@example.org>\": expected \" -- name <email>  date\"",
        ),
        // A missing trailer, before the next header and at the end.
        (
            "foo (1.1) unstable; urgency=low\n  * CVE-2024-0001\nfoo (1.0) unstable; urgency=low\n  * CVE-2023-0001\n",
            "foo 1.1 [unstable] low |  |  | CVE-2024-0001
               |  * CVE-2024-0001
             foo 1.0 [unstable] low |  |  | CVE-2023-0001
               |  * CVE-2023-0001
             error line 3: entry foo (1.1) has no trailer line (\" -- name <email>  date\") before this header
             error line 4: entry foo (1.0) has no trailer line (\" -- name <email>  date\") before the end",
        ),
        // Change lines and trailers outside an entry, and an unindented line inside one.
        (
            "  * orphan change\n -- A <a@b>  d\nfoo (1.0) unstable; urgency=low\n  * x\nnot indented text\n -- A <a@b>  d\n",
            "foo 1.0 [unstable] low | A <a@b> | d |
               |  * x
             error line 1: change line outside an entry: a header line must come first
             error line 2: trailer line without an entry: a header line must come first
             error line 5: unexpected line \"not indented text\": change lines are indented, headers look like \"package (version) distribution; urgency=...\"",
        ),
        // CRLF line ends, one space before the date, extra options, upper-case names.
        (
            "Foo-Bar.2 (2:1.0~rc1+dfsg-1) UNRELEASED;  Urgency=critical , binary-only=yes\r\n\r\n  * cve-2024-99999 and CVE-2024-99999\r\n\r\n -- A B <a@b.c> Tue, 2 Jan 2024 00:00:00 +0000  \r\n",
            "Foo-Bar.2 2:1.0~rc1+dfsg-1 [UNRELEASED] critical | A B <a@b.c> | Tue, 2 Jan 2024 00:00:00 +0000 | CVE-2024-99999
               |  * cve-2024-99999 and CVE-2024-99999",
        ),
        // No urgency at all: accepted, urgency empty.
        (
            "foo (1.0) unstable; closes=1\n  * x\n -- A <a@b>  d\n",
            "foo 1.0 [unstable]  | A <a@b> | d |
               |  * x",
        ),
        // Only CVE ids with 4+ digits and word boundaries count.
        (
            "foo (1.0) unstable; urgency=low\n  * CVE-2024-123, XCVE-2024-1234, CVE-2024-12345x, (CVE-2024-1234567)\n -- A <a@b>  d\n",
            "foo 1.0 [unstable] low | A <a@b> | d | CVE-2024-1234567
               |  * CVE-2024-123, XCVE-2024-1234, CVE-2024-12345x, (CVE-2024-1234567)",
        ),
        // Comments and RCS keywords are skipped; the old formats end the changelog silently.
        (
            "# comment\n$Id: changelog,v 1.1 $\nfoo (1.0) unstable; urgency=low\n  * x\n -- A <a@b>  d\n\nOld Changelog:\nanything at all\n",
            "foo 1.0 [unstable] low | A <a@b> | d |
               |  * x",
        ),
        (
            "foo (1.0) unstable; urgency=low\n  * x\n -- A <a@b>  d\n\ndpkg (1.2.12); priority=LOW\n\n  * old\n\n -- Ian Jackson <ian@chiark>  Thu, 4 Jul 1996 15:04:49 +0100\n",
            "foo 1.0 [unstable] low | A <a@b> | d |
               |  * x",
        ),
        (
            "foo (1.0) unstable; urgency=low\n  * x\n -- A <a@b>  d\n\ngmp (1.3.2-2) - dcs\n  * old\n",
            "foo 1.0 [unstable] low | A <a@b> | d |
               |  * x",
        ),
        (
            "foo (1.0) unstable; urgency=low\n  * x\n -- A <a@b>  d\n\nvim: ft=debchangelog\nfoo (0.9) unstable; urgency=low\n",
            "foo 1.0 [unstable] low | A <a@b> | d |
               |  * x",
        ),
    ];
    for (input, expect) in cases {
        check(input, expect);
    }
}

#[test]
fn the_perl_fixture_ends_at_its_old_format_tail() {
    // The entry after "Local variables:" names CVE-1999-0001: it must not be read.
    let parsed = parse(PERL);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.entries.len(), 7);
    assert!(parsed.entries.iter().all(|e| !e.cves.contains(&"CVE-1999-0001".to_string())));
}

#[test]
fn cves_since_takes_entries_strictly_newer_than_installed() {
    let gmp =
        "gmp (2:6.2.1+dfsg1-1.1) unstable; urgency=high\n  * CVE-2021-43618\n -- A <a@b>  d\n\
               gmp (6.2.1+dfsg-1) unstable; urgency=low\n  * CVE-2020-0001\n -- A <a@b>  d\n";
    let all_perl = [
        "CVE-2024-56406",
        "CVE-2025-40909",
        "CVE-2023-31484",
        "CVE-2023-31486",
        "CVE-2023-47038",
        "CVE-2023-47039",
        "CVE-2022-48522",
    ];
    // (changelog, installed version, the CVE ids or the error message)
    type Case<'a> = (&'a str, &'a str, Result<&'a [&'a str], &'a str>);
    let cases: &[Case<'_>] = &[
        (PERL, "5.36.0-7+deb12u4", Ok(&[])),
        (PERL, "5.36.0-7+deb12u5", Ok(&[])),
        (PERL, "5.36.0-7+deb12u3", Ok(&all_perl[..2])),
        (PERL, "0:5.36.0-7+deb12u3", Ok(&all_perl[..2])),
        (PERL, "5.36.0-7+deb12u2+b1", Ok(&all_perl[..4])),
        (PERL, "5.36.0-7+deb12u2", Ok(&all_perl[..4])),
        (PERL, "5.36.0-7+deb12u1", Ok(&all_perl[..6])),
        (PERL, "5.36.0-7", Ok(&all_perl[..6])),
        // "~" sorts before anything: the backport is older than 5.36.0-7.
        (PERL, "5.36.0-7~bpo11+1", Ok(&all_perl[..])),
        (PERL, "5.36.0-6", Ok(&all_perl[..])),
        (PERL, "1:5.30.0-1", Ok(&[])),
        // An epoch outranks everything after it.
        (gmp, "6.3.0-1", Ok(&["CVE-2021-43618"])),
        (gmp, "2:6.2.1+dfsg1-1", Ok(&["CVE-2021-43618"])),
        (gmp, "2:6.2.1+dfsg1-1.1", Ok(&[])),
        (gmp, "6.2.0-1", Ok(&["CVE-2021-43618", "CVE-2020-0001"])),
        (PERL, "", Err("invalid version \"\": version string is empty")),
        (PERL, "5.36 0", Err("invalid version \"5.36 0\": version string has embedded spaces")),
        (
            "foo (1:) unstable; urgency=low\n  * CVE-2024-0001\n -- A <a@b>  d\n",
            "1.0",
            Err("invalid version \"1:\": nothing after colon in version number"),
        ),
    ];
    for (changelog, installed, expect) in cases {
        let entries = parse(changelog).entries;
        let got = cves_since(&entries, installed).map_err(|e| e.to_string());
        let expect = expect
            .map(|ids| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(str::to_string);
        assert_eq!(got, expect, "installed {installed:?}");
    }
}
