//! Reading `.deb`s: real packages built here with `dpkg-deb --build` (xz, gzip, zstd and no
//! compression; a doc directory that is a symlink; a native package), hand-made archives for
//! the errors, and every truncation and arbitrary bytes for robustness.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use ward_patch::deb::{inspect, DebInfo};

const CONF: &str = "# ward test configuration\nlisten = 127.0.0.1\n";
/// `md5sum` of [`CONF`].
const CONF_MD5: &str = "5c94832f15bea63576006120278a663c";
const CHANGELOG: &str = "ward-test (1:2.0-1+deb12u1) bookworm-security; urgency=high\n\n  \
    * Fix CVE-2024-0001.\n\n -- A <a@b>  Mon, 01 Jan 2024 00:00:00 +0000\n";
const CONTROL: &str = "Package: ward-test-bin\nSource: ward-test (1:2.0-1+deb12u1)\n\
    Version: 1:2.0-1+deb12u1+b1\nArchitecture: amd64\nMaintainer: A <a@b>\n\
    Description: ward test package\n a package built by ward's tests\n";

/// What `usr/share/doc/ward-test-bin` is in a test package.
#[derive(Clone, Copy, Debug)]
enum Doc {
    /// A directory with `changelog.Debian.gz` (in two gzip members) and `changelog.gz`.
    Debian,
    /// A directory with only `changelog.gz` (a native package).
    Native,
    /// A symlink to `ward-test`.
    Link,
}

/// Builds `ward-test-bin` with `dpkg-deb --build -Z<compression>`; returns the .deb's bytes.
fn build_deb(dir: &Path, compression: &str, doc: Doc) -> Vec<u8> {
    let name = format!("{compression}-{doc:?}");
    let root = dir.join(format!("root-{name}"));
    let write = |path: &str, bytes: &[u8]| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write("DEBIAN/control", CONTROL.as_bytes());
    write(
        "DEBIAN/conffiles",
        b"/etc/ward-test/ward.conf\nremove-on-upgrade /etc/ward-test/old.conf\n/etc/ward-test/empty.conf\n",
    );
    write("etc/ward-test/ward.conf", CONF.as_bytes());
    write("etc/ward-test/empty.conf", b"");
    write("etc/ward-test/not-a-conffile", b"x");
    let gzip = |text: &str| {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        out.write_all(text.as_bytes()).unwrap();
        out.finish().unwrap()
    };
    match doc {
        Doc::Debian => {
            let (first, second) = CHANGELOG.split_at(20);
            write(
                "usr/share/doc/ward-test-bin/changelog.Debian.gz",
                &[gzip(first), gzip(second)].concat(),
            );
            write("usr/share/doc/ward-test-bin/changelog.gz", &gzip("upstream changes\n"));
        }
        Doc::Native => {
            write("usr/share/doc/ward-test-bin/changelog.gz", &gzip(CHANGELOG));
        }
        Doc::Link => {
            std::fs::create_dir_all(root.join("usr/share/doc")).unwrap();
            std::os::unix::fs::symlink("ward-test", root.join("usr/share/doc/ward-test-bin"))
                .unwrap();
        }
    }
    // dpkg-deb insists on 0755 for the control directory; temporary directories are 0700.
    for d in [root.clone(), root.join("DEBIAN")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let deb = dir.join(format!("ward-test-{name}.deb"));
    let output = ward_process::Command::new("dpkg-deb")
        .args(["--root-owner-group", &format!("-Z{compression}"), "--build"])
        .arg(&root)
        .arg(&deb)
        .timeout(Duration::from_secs(60))
        .run()
        .unwrap();
    assert!(
        output.status.success(),
        "dpkg-deb --build: {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr.bytes)
    );
    std::fs::read(deb).unwrap()
}

/// An ar archive of `members`, as `ar` and dpkg-deb write it.
fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, body) in members {
        out.extend(
            format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, 0, 100644, body.len())
                .bytes(),
        );
        out.extend(*body);
        if body.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// A tar archive of regular files.
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, *body).unwrap();
    }
    builder.into_inner().unwrap()
}

/// `inspect(deb)` is `expect`: the info, or the error's message.
fn check(deb: &[u8], expect: Result<&DebInfo, &str>) {
    match (inspect(deb), expect) {
        (Ok(got), Ok(expect)) => assert_eq!(&got, expect),
        (Err(got), Err(expect)) => assert_eq!(got.to_string(), expect),
        (got, expect) => panic!("got {got:?}, expected {expect:?}"),
    }
}

fn expected(changelog: Option<&str>, doc_link: Option<&str>) -> DebInfo {
    DebInfo {
        control: CONTROL.to_string(),
        package: "ward-test-bin".into(),
        version: "1:2.0-1+deb12u1+b1".into(),
        architecture: "amd64".into(),
        source: Some("ward-test".into()),
        conffiles: vec!["/etc/ward-test/ward.conf".into(), "/etc/ward-test/empty.conf".into()],
        conffile_md5: BTreeMap::from([
            ("/etc/ward-test/ward.conf".into(), CONF_MD5.into()),
            // md5sum of nothing.
            ("/etc/ward-test/empty.conf".into(), "d41d8cd98f00b204e9800998ecf8427e".into()),
        ]),
        changelog: changelog.map(|c| c.as_bytes().to_vec()),
        doc_link: doc_link.map(str::to_string),
    }
}

#[test]
fn reads_packages_built_by_dpkg_deb() {
    let dir = tempfile::tempdir().unwrap();
    let debian = expected(Some(CHANGELOG), None);
    let link = expected(None, Some("ward-test"));
    let cases = [
        ("xz", Doc::Debian, &debian),
        ("gzip", Doc::Debian, &debian),
        ("zstd", Doc::Debian, &debian),
        ("none", Doc::Debian, &debian),
        ("xz", Doc::Native, &debian),
        ("xz", Doc::Link, &link),
        ("gzip", Doc::Link, &link),
    ];
    for (compression, doc, expect) in cases {
        let deb = build_deb(dir.path(), compression, doc);
        check(&deb, Ok(expect));
    }
}

#[test]
fn errors_name_the_member_and_the_problem() {
    let control = tar(&[("./control", CONTROL.as_bytes())]);
    let data = tar(&[("./etc/x", b"x")]);
    let cases: &[(Vec<u8>, &str)] = &[
        (Vec::new(), "not a .deb: it does not start with the ar archive magic \"!<arch>\\n\""),
        (b"PK\x03\x04".to_vec(), "not a .deb: it does not start with the ar archive magic \"!<arch>\\n\""),
        (b"!<ar".to_vec(), "truncated .deb: the ar archive magic ends early"),
        (ar(&[]), "missing debian-binary member: found the end of the archive where it should be"),
        (
            ar(&[("control.tar", &control)]),
            "missing debian-binary member: found control.tar where it should be",
        ),
        (ar(&[("debian-binary", b"3.0\n")]), "debian-binary: unsupported .deb format version \"3.0\" (dpkg reads 2.x)"),
        (
            ar(&[("debian-binary", b"2.0\n")]),
            "missing control.tar member: found the end of the archive where it should be",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("data.tar", &data)]),
            "missing control.tar member: found data.tar where it should be",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &control)]),
            "missing data.tar member: found the end of the archive where it should be",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar.lz4", &control)]),
            "control.tar.lz4: unknown compression (ward reads none, .gz, .xz and .zst)",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &control), ("data.tar.bz2", &data)]),
            "data.tar.bz2: bzip2 compression is not supported (ward reads none, .gz, .xz and .zst)",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &control), ("md5sums", b"")]),
            "md5sums: unexpected ar member; a .deb holds debian-binary, control.tar[.gz|.xz|.zst] and data.tar[.gz|.xz|.zst], in that order",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &tar(&[("./md5sums", b"")]))]),
            "control.tar: has no control file",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &tar(&[("./control", b"Package: x\nVersion: 1\n")]))]),
            "control.tar: control file: it has no Architecture field",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &tar(&[("./control", &[b'x'; (1 << 20) + 1])]))]),
            "control.tar: control is larger than 1048576 bytes, the most ward reads",
        ),
        (
            ar(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar", &tar(&[("./control", CONTROL.as_bytes()), ("./conffiles", b"keep /etc/x\n")])),
            ]),
            "control.tar: conffiles line 1: unknown flag \"keep\" (dpkg knows remove-on-upgrade)",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &control)]),
            "control.tar.gz: corrupt: invalid gzip header",
        ),
        (
            ar(&[("debian-binary", b"2.0\n"), ("control.tar", &control), ("data.tar.zst", &data)]),
            "data.tar.zst: corrupt: Unknown frame descriptor",
        ),
        (
            ar(&[
                ("debian-binary", b"2.0\n"),
                ("control.tar", &control),
                ("data.tar", &tar(&[("./usr/share/doc/ward-test-bin/changelog.Debian.gz", b"plain text, not gzip")])),
            ]),
            "data.tar: usr/share/doc/ward-test-bin/changelog.Debian.gz: not a gzip stream or corrupt: invalid gzip header",
        ),
    ];
    for (deb, expect) in cases {
        check(deb, Err(expect));
    }
    // A changelog past the cap, and a member cut short.
    let mut big = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    big.write_all(&vec![b' '; (16 << 20) + 1]).unwrap();
    let big = big.finish().unwrap();
    let changelog_path = "./usr/share/doc/ward-test-bin/changelog.Debian.gz";
    check(
        &ar(&[
            ("debian-binary", b"2.0\n"),
            ("control.tar", &control),
            ("data.tar", &tar(&[(changelog_path, &big)])),
        ]),
        Err("data.tar: usr/share/doc/ward-test-bin/changelog.Debian.gz is larger than 16777216 bytes, the most ward reads"),
    );
    let whole = ar(&[("debian-binary", b"2.0\n"), ("control.tar", &control), ("data.tar", &data)]);
    check(&whole[..whole.len() - 10], Err("truncated .deb: member data.tar ends early"));
    // A member header whose size is cut off, and one with a bad size.
    let mut deb = ar(&[("debian-binary", b"2.0\n")]);
    check(&deb[..30], Err("truncated .deb: the ar member header at byte 8 ends early"));
    deb[8 + 48] = b'x';
    check(&deb, Err("bad ar member header at byte 8: member \"debian-binary\" has size \"x         \", not a number"));
}

#[test]
fn members_named_with_an_underscore_are_skipped() {
    let control = tar(&[("./control", CONTROL.as_bytes())]);
    let deb = ar(&[
        ("debian-binary", b"2.0\n"),
        ("_gpgorigin", b"signature"),
        ("control.tar", &control),
        ("data.tar", &tar(&[("etc/x", b"x")])),
    ]);
    let mut expect = expected(None, None);
    expect.conffiles.clear();
    expect.conffile_md5.clear();
    check(&deb, Ok(&expect));
}

#[test]
fn every_truncation_and_arbitrary_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    for compression in ["none", "gzip", "xz", "zstd"] {
        let deb = build_deb(dir.path(), compression, Doc::Debian);
        for end in 0..deb.len() {
            // Only a missing final pad byte is harmless.
            let harmless = deb[end..] == *b"\n";
            let result = inspect(&deb[..end]);
            assert!(
                result.is_err() || harmless,
                "{compression}: truncated at {end} of {}: {result:?}",
                deb.len()
            );
        }
        // Every byte flipped in turn: Ok or Err, never a panic.
        for at in 0..deb.len() {
            let mut bytes = deb.clone();
            bytes[at] ^= 0xa5;
            let _ = inspect(&bytes[..]);
        }
    }
    // Arbitrary bytes, with and without a plausible start.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for length in 0..2000 {
        let mut bytes: Vec<u8> = (0..length % 300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if length % 2 == 0 {
            bytes.splice(0..0, ar(&[("debian-binary", b"2.0\n")]));
        }
        let _ = inspect(&bytes[..]);
    }
}
