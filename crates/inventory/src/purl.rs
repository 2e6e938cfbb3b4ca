//! Package URLs (purl, ECMA-427): the one builder every package's `purl` comes from, and the
//! parser SBOM readers use to turn a purl back into an ecosystem, name and version.

use std::collections::BTreeMap;
use std::fmt::Write;

use ward_version::{Ecosystem, EcosystemKind};

use crate::Package;

/// A parsed or to-be-written package URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    pub ty: String,
    /// Namespace segments, decoded (`["@babel"]`, `["github.com", "x"]`).
    pub namespace: Vec<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

/// Why a text is not a package URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a package URL ({reason}): {text}")]
pub struct PurlError {
    pub text: String,
    pub reason: &'static str,
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `:` (which the purl
/// specification leaves unencoded).
fn encode(out: &mut String, text: &str) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Purl {
    /// Parses `pkg:type/namespace/name@version?qualifiers#subpath`.
    pub fn parse(text: &str) -> Result<Purl, PurlError> {
        let err = |reason| PurlError { text: text.to_string(), reason };
        let rest = text.trim().strip_prefix("pkg:").ok_or_else(|| err("no pkg: scheme"))?;
        let rest = rest.trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, s)) => (r, Some(decode(s.trim_matches('/')))),
            None => (rest, None),
        };
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => {
                let mut map = BTreeMap::new();
                for pair in q.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').ok_or_else(|| err("qualifier without ="))?;
                    map.insert(k.to_ascii_lowercase(), decode(v));
                }
                (r, map)
            }
            None => (rest, BTreeMap::new()),
        };
        let (ty, path) = rest.split_once('/').ok_or_else(|| err("no name"))?;
        if ty.is_empty() {
            return Err(err("no type"));
        }
        let path = path.trim_end_matches('/');
        let (path, version) = match path.rfind('@') {
            Some(at) if at > 0 || !path.contains('/') => {
                (&path[..at], Some(decode(&path[at + 1..])))
            }
            _ => (path, None),
        };
        let mut segments: Vec<String> =
            path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
        let name = segments.pop().ok_or_else(|| err("no name"))?;
        if name.is_empty() {
            return Err(err("no name"));
        }
        Ok(Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: segments,
            name,
            version,
            qualifiers,
            subpath,
        })
    }

    /// The OSV ecosystem and the name its advisories use, for purl types ward matches.
    pub fn ecosystem_and_name(&self) -> Option<(Ecosystem, String)> {
        let joined = |sep: &str| {
            let mut parts = self.namespace.clone();
            parts.push(self.name.clone());
            parts.join(sep)
        };
        let (kind, name) = match self.ty.as_str() {
            "npm" => (EcosystemKind::Npm, joined("/")),
            "pypi" => (EcosystemKind::PyPi, normalize_pypi(&self.name)),
            "cargo" => (EcosystemKind::CratesIo, self.name.clone()),
            "golang" => (EcosystemKind::Go, joined("/")),
            "maven" => (EcosystemKind::Maven, joined(":")),
            "nuget" => (EcosystemKind::NuGet, self.name.clone()),
            "gem" => (EcosystemKind::RubyGems, self.name.clone()),
            "composer" => (EcosystemKind::Packagist, joined("/")),
            "pub" => (EcosystemKind::Pub, self.name.clone()),
            "hex" => (EcosystemKind::Hex, self.name.clone()),
            "cran" => (EcosystemKind::Cran, self.name.clone()),
            "conan" => (EcosystemKind::ConanCenter, self.name.clone()),
            "swift" => (EcosystemKind::SwiftUrl, joined("/")),
            "deb" => {
                let ns = self.namespace.first().map(|s| s.to_ascii_lowercase());
                let kind = if ns.as_deref() == Some("ubuntu") {
                    EcosystemKind::Ubuntu
                } else {
                    EcosystemKind::Debian
                };
                (kind, self.name.clone())
            }
            "rpm" => {
                let ns = self.namespace.first().map(|s| s.to_ascii_lowercase());
                let kind = match ns.as_deref() {
                    Some("almalinux") => EcosystemKind::AlmaLinux,
                    Some("rocky") => EcosystemKind::RockyLinux,
                    Some("opensuse") => EcosystemKind::OpenSuse,
                    Some("suse") => EcosystemKind::Suse,
                    Some("openeuler") => EcosystemKind::OpenEuler,
                    Some("mageia") => EcosystemKind::Mageia,
                    Some("azurelinux") => EcosystemKind::AzureLinux,
                    Some("photon") => EcosystemKind::PhotonOs,
                    _ => EcosystemKind::RedHat,
                };
                (kind, self.name.clone())
            }
            "apk" => {
                let ns = self.namespace.first().map(|s| s.to_ascii_lowercase());
                let kind = match ns.as_deref() {
                    Some("wolfi") => EcosystemKind::Wolfi,
                    Some("chainguard") => EcosystemKind::Chainguard,
                    _ => EcosystemKind::Alpine,
                };
                (kind, self.name.clone())
            }
            _ => return None,
        };
        Some((Ecosystem::new(kind), name))
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::from("pkg:");
        out.push_str(&self.ty);
        for segment in &self.namespace {
            out.push('/');
            encode(&mut out, segment);
        }
        out.push('/');
        encode(&mut out, &self.name);
        if let Some(v) = &self.version {
            out.push('@');
            encode(&mut out, v);
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            if v.is_empty() {
                continue;
            }
            out.push(sep);
            sep = '&';
            out.push_str(k);
            out.push('=');
            encode(&mut out, v);
        }
        if let Some(s) = &self.subpath {
            out.push('#');
            out.push_str(s);
        }
        f.write_str(&out)
    }
}

/// PyPI's name normalization (PEP 503): lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_pypi(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The purl of a package, following the purl type definitions: scoped npm names and Go module
/// paths split into namespace segments, Maven `group:artifact` into namespace and name, OS
/// packages with the distribution as namespace and `arch`/`distro` qualifiers.
/// The purl namespace of rpm-based distributions.
fn rpm_namespace(kind: EcosystemKind) -> Option<&'static str> {
    Some(match kind {
        EcosystemKind::RedHat => "redhat",
        EcosystemKind::AlmaLinux => "almalinux",
        EcosystemKind::RockyLinux => "rocky",
        EcosystemKind::OpenSuse => "opensuse",
        EcosystemKind::Suse => "suse",
        EcosystemKind::OpenEuler => "openeuler",
        EcosystemKind::Mageia => "mageia",
        EcosystemKind::AzureLinux => "azurelinux",
        EcosystemKind::PhotonOs => "photon",
        _ => return None,
    })
}

pub(crate) fn for_package(p: &Package) -> String {
    let mut version = (!p.version.is_empty()).then(|| p.version.clone());
    let split_slash = |name: &str| -> (Vec<String>, String) {
        let mut parts: Vec<String> = name.split('/').map(str::to_string).collect();
        let last = parts.pop().unwrap_or_default();
        (parts, last)
    };
    let mut qualifiers = BTreeMap::new();
    let (ty, namespace, name) = match p.ecosystem.kind() {
        EcosystemKind::Npm => {
            let (ns, n) = split_slash(&p.name);
            ("npm", ns, n)
        }
        EcosystemKind::PyPi => ("pypi", vec![], normalize_pypi(&p.name)),
        EcosystemKind::CratesIo => ("cargo", vec![], p.name.clone()),
        EcosystemKind::Go => {
            let (ns, n) = split_slash(&p.name);
            ("golang", ns, n)
        }
        EcosystemKind::Maven => match p.name.split_once(':') {
            Some((g, a)) => ("maven", vec![g.to_string()], a.to_string()),
            None => ("maven", vec![], p.name.clone()),
        },
        EcosystemKind::NuGet => ("nuget", vec![], p.name.clone()),
        EcosystemKind::RubyGems => ("gem", vec![], p.name.clone()),
        EcosystemKind::Packagist => {
            let (ns, n) = split_slash(&p.name);
            ("composer", ns, n)
        }
        EcosystemKind::Pub => ("pub", vec![], p.name.clone()),
        EcosystemKind::Hex => ("hex", vec![], p.name.clone()),
        EcosystemKind::Cran => ("cran", vec![], p.name.clone()),
        EcosystemKind::ConanCenter => ("conan", vec![], p.name.clone()),
        kind @ (EcosystemKind::Debian | EcosystemKind::Ubuntu) => {
            let distro = if kind == EcosystemKind::Ubuntu { "ubuntu" } else { "debian" };
            if let Some(arch) = &p.arch {
                qualifiers.insert("arch".to_string(), arch.clone());
            }
            if let Some(release) = p.ecosystem.release() {
                // `Ubuntu:22.04:LTS` is `ubuntu-22.04` in purls.
                let release = release.split(':').next().unwrap_or(release);
                qualifiers.insert("distro".to_string(), format!("{distro}-{release}"));
            }
            if let Some(source) = &p.source {
                if source.name != p.name || source.version != p.version {
                    let text = if source.version == p.version {
                        source.name.clone()
                    } else {
                        format!("{}@{}", source.name, source.version)
                    };
                    qualifiers.insert("upstream".to_string(), text);
                }
            }
            ("deb", vec![distro.to_string()], p.name.clone())
        }
        kind @ (EcosystemKind::Alpine | EcosystemKind::Wolfi | EcosystemKind::Chainguard) => {
            let distro = match kind {
                EcosystemKind::Wolfi => "wolfi",
                EcosystemKind::Chainguard => "chainguard",
                _ => "alpine",
            };
            if let Some(arch) = &p.arch {
                qualifiers.insert("arch".to_string(), arch.clone());
            }
            if let Some(release) = p.ecosystem.release() {
                let r = release.trim_start_matches('v');
                qualifiers.insert("distro".to_string(), format!("{distro}-{r}"));
            }
            ("apk", vec![distro.to_string()], p.name.clone())
        }
        kind if rpm_namespace(kind).is_some() => {
            let namespace = rpm_namespace(kind).unwrap_or("redhat");
            if let Some(arch) = &p.arch {
                qualifiers.insert("arch".to_string(), arch.clone());
            }
            if let Some(release) = p.ecosystem.release() {
                let distro = if namespace == "redhat" { "rhel" } else { namespace };
                qualifiers.insert("distro".to_string(), format!("{distro}-{release}"));
            }
            // rpm purls carry the epoch as a qualifier, not in the version.
            if let Some((epoch, rest)) = p.version.split_once(':') {
                qualifiers.insert("epoch".to_string(), epoch.to_string());
                version = Some(rest.to_string());
            }
            if let Some(source) = p.source.as_ref().filter(|s| s.name != p.name) {
                qualifiers.insert("upstream".to_string(), source.name.clone());
            }
            ("rpm", vec![namespace.to_string()], p.name.clone())
        }
        _ => ("generic", vec![], p.name.clone()),
    };
    if let Some(commit) = &p.commit {
        if version.is_none() && !commit.is_empty() {
            qualifiers.insert("vcs_commit".to_string(), commit.clone());
        }
    }
    Purl { ty: ty.to_string(), namespace, name, version, qualifiers, subpath: None }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Source};

    fn check(kind: EcosystemKind, name: &str, version: &str, expect: &str) {
        let p = Package::new(kind, name, version, Location { path: "x".into(), line: None });
        assert_eq!(p.purl(), expect);
        let back = Purl::parse(expect).unwrap();
        let (eco, n) = back.ecosystem_and_name().unwrap();
        assert_eq!(eco.kind(), kind, "{expect}");
        if kind != EcosystemKind::PyPi {
            assert_eq!(n, name, "{expect}");
        }
        assert_eq!(back.version.as_deref().unwrap_or(""), version);
    }

    #[test]
    fn builds_and_reads_purls() {
        check(EcosystemKind::Npm, "@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0");
        check(EcosystemKind::Npm, "lodash", "4.17.21", "pkg:npm/lodash@4.17.21");
        check(EcosystemKind::PyPi, "Zope_Interface", "5.4.0", "pkg:pypi/zope-interface@5.4.0");
        check(EcosystemKind::Go, "github.com/a/b", "v1.2.3", "pkg:golang/github.com/a/b@v1.2.3");
        check(
            EcosystemKind::Maven,
            "org.slf4j:slf4j-api",
            "2.0.9",
            "pkg:maven/org.slf4j/slf4j-api@2.0.9",
        );
        check(EcosystemKind::Packagist, "drupal/core", "10.1.0", "pkg:composer/drupal/core@10.1.0");
        check(EcosystemKind::CratesIo, "serde", "1.0.0+x", "pkg:cargo/serde@1.0.0%2Bx");
        check(EcosystemKind::RubyGems, "rails", "", "pkg:gem/rails");
    }

    #[test]
    fn os_packages_carry_distro_and_source() {
        let mut p = Package::new(
            EcosystemKind::Debian,
            "libssl3",
            "3.0.11-1~deb12u2",
            Location { path: "s".into(), line: Some(1) },
        );
        p.ecosystem = Ecosystem::with_release(EcosystemKind::Debian, "12");
        p.arch = Some("amd64".into());
        p.source = Some(Source { name: "openssl".into(), version: "3.0.11-1~deb12u2".into() });
        assert_eq!(
            p.purl(),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
    }

    #[test]
    fn rpm_purls_carry_the_epoch_as_a_qualifier() {
        let mut p = Package::new(
            EcosystemKind::RedHat,
            "openssl-libs",
            "1:3.0.7-24.el9",
            Location { path: "rpmdb.sqlite".into(), line: None },
        );
        p.ecosystem = Ecosystem::with_release(EcosystemKind::RedHat, "9");
        p.arch = Some("x86_64".into());
        p.source = Some(Source { name: "openssl".into(), version: "1:3.0.7-24.el9".into() });
        let text = p.purl();
        assert_eq!(text, "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9&epoch=1&upstream=openssl");
        let back = Purl::parse(&text).unwrap();
        assert_eq!(back.ecosystem_and_name().unwrap().0.kind(), EcosystemKind::RedHat);
    }

    #[test]
    fn rejects_non_purls() {
        for bad in ["", "npm/x", "pkg:", "pkg:npm", "pkg:/x"] {
            assert!(Purl::parse(bad).is_err(), "{bad}");
        }
    }
}
