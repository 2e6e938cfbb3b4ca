//! Reading what `apt-get -s` (simulate) prints: the packages it would install, upgrade and
//! remove with their versions and origins, and the packages it names when a request has
//! unmet dependencies. apt's resolver decides; ward reads its answer (with `LC_ALL=C`).

/// One `Inst` line: `Inst perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4
/// Debian-Security:12/oldstable-security [amd64])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inst {
    /// The package name as apt prints it (`libc6`, or `libc6:i386` for a foreign architecture).
    pub name: String,
    /// The installed version, `None` for a package the change newly installs.
    pub from: Option<String>,
    pub to: String,
    /// The releases the new version comes from, as `Label:Version/Archive`
    /// (`Debian-Security:12/oldstable-security`).
    pub origins: Vec<String>,
    pub arch: String,
}

impl Inst {
    /// Whether the new version comes from a security suite: an archive ending in `-security`
    /// or a label naming security (`Debian-Security`), which is the origin
    /// unattended-upgrades trusts for security updates.
    pub fn is_security(&self) -> bool {
        self.origins.iter().any(|o| is_security_origin(o))
    }
}

/// Whether one `Label:Version/Archive` origin is a security suite.
pub fn is_security_origin(origin: &str) -> bool {
    let (label, archive) = match origin.split_once('/') {
        Some((head, archive)) => (head.split(':').next().unwrap_or(head), archive),
        None => (origin, ""),
    };
    archive.ends_with("-security")
        || archive.ends_with("/updates")
        || label.to_ascii_lowercase().contains("security")
}

/// Everything a simulation said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simulation {
    pub installs: Vec<Inst>,
    /// `Remv` lines: (package, installed version).
    pub removals: Vec<(String, String)>,
    /// Packages named on the left of "The following packages have unmet dependencies:".
    pub unmet: Vec<String>,
    /// The unmet-dependency lines as apt wrote them (for messages).
    pub unmet_text: Vec<String>,
    /// Packages apt listed as "kept back".
    pub kept_back: Vec<String>,
}

/// Reads `apt-get -s` output. Lines it does not know are skipped.
pub fn parse(text: &str) -> Simulation {
    let mut sim = Simulation::default();
    let mut section = Section::None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Inst ") {
            section = Section::None;
            if let Some(inst) = parse_inst(rest) {
                sim.installs.push(inst);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("Remv ") {
            section = Section::None;
            let mut words = rest.split_whitespace();
            if let Some(name) = words.next() {
                let version = words
                    .next()
                    .and_then(|v| v.strip_prefix('[').and_then(|v| v.strip_suffix(']')))
                    .unwrap_or_default();
                sim.removals.push((name.to_string(), version.to_string()));
            }
            continue;
        }
        if line.starts_with("The following packages have unmet dependencies") {
            section = Section::Unmet;
            continue;
        }
        if line.starts_with("The following packages have been kept back") {
            section = Section::KeptBack;
            continue;
        }
        if !line.starts_with(' ') {
            section = Section::None;
            continue;
        }
        match section {
            Section::Unmet => {
                sim.unmet_text.push(line.trim().to_string());
                // ` apt : Depends: libapt-pkg6.0 (>= 2.6.2) but 2.6.1 is to be installed`;
                // continuation lines start with spaces and a field name, no ` : `.
                if let Some((name, _)) = line.trim_start().split_once(" : ") {
                    let name = name.trim();
                    if !name.is_empty()
                        && !name.contains(' ')
                        && !sim.unmet.iter().any(|n| n == name)
                    {
                        sim.unmet.push(name.to_string());
                    }
                }
            }
            Section::KeptBack => {
                sim.kept_back.extend(line.split_whitespace().map(str::to_string));
            }
            Section::None => {}
        }
    }
    sim
}

#[derive(Clone, Copy)]
enum Section {
    None,
    Unmet,
    KeptBack,
}

/// `perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security
/// [amd64]) []`.
fn parse_inst(rest: &str) -> Option<Inst> {
    let (name, rest) = rest.split_once(' ')?;
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    let (from, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (v, r) = r.split_once(']')?;
            (Some(v.to_string()), r.trim_start())
        }
        None => (None, rest),
    };
    let inner = rest.strip_prefix('(')?;
    let inner = &inner[..inner.find(')')?];
    let (to, origins) = inner.split_once(' ').unwrap_or((inner, ""));
    let (origins, arch) = match origins.rfind('[') {
        Some(i) => (&origins[..i], origins[i + 1..].trim_end().trim_end_matches(']')),
        None => (origins, ""),
    };
    let origins =
        origins.split(", ").map(str::trim).filter(|o| !o.is_empty()).map(str::to_string).collect();
    Some(Inst { name: name.to_string(), from, to: to.to_string(), origins, arch: arch.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_installs_removals_and_origins() {
        let sim = parse(
            "NOTE: This is only a simulation!\n\
             Reading package lists...\n\
             Inst perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])\n\
             Inst libgcrypt20-dev [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64]) []\n\
             Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])\n\
             Inst linux-image-6.1.0-40-amd64 (6.1.153-1 Debian-Security:12/oldstable-security [amd64])\n\
             Inst libc6:i386 [2.36-9] (2.36-9+deb12u14 Debian:12.15/oldstable [i386])\n\
             Remv oldpkg [1.0]\n\
             Conf perl-base (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])\n",
        );
        let got: Vec<_> = sim
            .installs
            .iter()
            .map(|i| {
                (
                    i.name.as_str(),
                    i.from.as_deref(),
                    i.to.as_str(),
                    i.arch.as_str(),
                    i.is_security(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("perl-base", Some("5.36.0-7+deb12u3"), "5.36.0-7+deb12u4", "amd64", true),
                ("libgcrypt20-dev", Some("1.10.1-3"), "1.10.1-3+deb12u1", "amd64", true),
                ("base-files", Some("12.4+deb12u11"), "12.4+deb12u15", "amd64", false),
                ("linux-image-6.1.0-40-amd64", None, "6.1.153-1", "amd64", true),
                ("libc6:i386", Some("2.36-9"), "2.36-9+deb12u14", "i386", false),
            ]
        );
        assert_eq!(
            sim.installs[1].origins,
            ["Debian:12.15/oldstable", "Debian-Security:12/oldstable-security"]
        );
        assert_eq!(sim.removals, [("oldpkg".to_string(), "1.0".to_string())]);
    }

    #[test]
    fn reads_unmet_dependencies_and_kept_back() {
        let sim = parse(
            "Some packages could not be installed. This may mean that you have\n\
             requested an impossible situation.\n\
             \n\
             The following packages have unmet dependencies:\n \
             apt : Depends: libapt-pkg6.0 (>= 2.6.2) but 2.6.1 is to be installed\n       \
             Recommends: ca-certificates but it is not going to be installed\n \
             openssl : Depends: libssl3 (= 3.0.17-1~deb12u3) but 3.0.11-1 is to be installed\n\
             E: Unable to correct problems, you have held broken packages.\n\
             The following packages have been kept back:\n  \
             linux-image-amd64 foo\n\
             0 upgraded, 0 newly installed, 0 to remove and 2 not upgraded.\n",
        );
        assert_eq!(sim.unmet, ["apt", "openssl"]);
        assert_eq!(sim.unmet_text.len(), 3);
        assert_eq!(sim.kept_back, ["linux-image-amd64", "foo"]);
        assert!(sim.installs.is_empty());
    }

    /// Found by fuzzing (`patch_apt_sim`): a line with no package name is not an install.
    #[test]
    fn an_inst_line_without_a_name_is_skipped() {
        assert!(parse("Inst  (1.0 Debian:12/stable [amd64])\nInst \n").installs.is_empty());
    }

    #[test]
    fn security_origins() {
        for (origin, security) in [
            ("Debian-Security:12/oldstable-security", true),
            ("Debian:12.15/oldstable", false),
            ("Ubuntu:22.04/jammy-security", true),
            ("Ubuntu:22.04/jammy-updates", false),
            ("Debian-Security:10/oldoldstable/updates", true),
            ("local", false),
        ] {
            assert_eq!(is_security_origin(origin), security, "{origin}");
        }
    }
}
