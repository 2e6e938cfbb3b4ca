//! Recognising an input's format from its file name, and from its content for OS package
//! databases and SBOMs (a copied `dpkg-status` or an SBOM under any name still works).

/// Every input format ward reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    DpkgStatus,
    ApkInstalled,
    CargoLock,
    NpmLock,
    YarnLock,
    BunLock,
    PnpmLock,
    ComposerLock,
    ComposerInstalled,
    Requirements,
    PoetryLock,
    PipfileLock,
    PdmLock,
    UvLock,
    PyLock,
    PythonMetadata,
    GoMod,
    DrupalCore,
    DrupalInfo,
    GoBinary,
    GemfileLock,
    PomXml,
    GradleLock,
    GradleVerificationMetadata,
    NuGetLock,
    MixLock,
    PubspecLock,
    ConanLock,
    RenvLock,
    CycloneDxJson,
    SpdxJson,
    OsvScannerResults,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: &'static [Format] = &[
        Format::DpkgStatus,
        Format::ApkInstalled,
        Format::CargoLock,
        Format::NpmLock,
        Format::YarnLock,
        Format::BunLock,
        Format::PnpmLock,
        Format::ComposerLock,
        Format::ComposerInstalled,
        Format::Requirements,
        Format::PoetryLock,
        Format::PipfileLock,
        Format::PdmLock,
        Format::UvLock,
        Format::PyLock,
        Format::PythonMetadata,
        Format::GoMod,
        Format::DrupalCore,
        Format::DrupalInfo,
        Format::GoBinary,
        Format::GemfileLock,
        Format::PomXml,
        Format::GradleLock,
        Format::GradleVerificationMetadata,
        Format::NuGetLock,
        Format::MixLock,
        Format::PubspecLock,
        Format::ConanLock,
        Format::RenvLock,
        Format::CycloneDxJson,
        Format::SpdxJson,
        Format::OsvScannerResults,
    ];

    /// A short stable name (`dpkg-status`, `cargo-lock`...).
    pub fn name(self) -> &'static str {
        match self {
            Format::DpkgStatus => "dpkg-status",
            Format::ApkInstalled => "apk-installed",
            Format::CargoLock => "cargo-lock",
            Format::NpmLock => "npm-lock",
            Format::YarnLock => "yarn-lock",
            Format::BunLock => "bun-lock",
            Format::PnpmLock => "pnpm-lock",
            Format::ComposerLock => "composer-lock",
            Format::ComposerInstalled => "composer-installed",
            Format::Requirements => "requirements-txt",
            Format::PoetryLock => "poetry-lock",
            Format::PipfileLock => "pipfile-lock",
            Format::PdmLock => "pdm-lock",
            Format::UvLock => "uv-lock",
            Format::PyLock => "pylock-toml",
            Format::PythonMetadata => "python-metadata",
            Format::GoMod => "go-mod",
            Format::DrupalCore => "drupal-core",
            Format::DrupalInfo => "drupal-info",
            Format::GoBinary => "go-binary",
            Format::GemfileLock => "gemfile-lock",
            Format::PomXml => "pom-xml",
            Format::GradleLock => "gradle-lockfile",
            Format::GradleVerificationMetadata => "gradle-verification-metadata",
            Format::NuGetLock => "nuget-lock",
            Format::MixLock => "mix-lock",
            Format::PubspecLock => "pubspec-lock",
            Format::ConanLock => "conan-lock",
            Format::RenvLock => "renv-lock",
            Format::CycloneDxJson => "cyclonedx-json",
            Format::SpdxJson => "spdx-json",
            Format::OsvScannerResults => "osv-scanner-results",
        }
    }

    /// The format a file of this name is, judging by the name alone. Copies that keep the
    /// name as a suffix (`ripgrep-15.2.0.Cargo.lock`, `app.package-lock.json`) count too.
    pub fn from_file_name(file_name: &str, parent_dir: Option<&str>) -> Option<Format> {
        Format::from_exact_name(file_name, parent_dir).or_else(|| {
            file_name
                .match_indices(['.', '-', '_'])
                .filter_map(|(i, _)| KNOWN_NAMES.iter().find(|(n, _)| *n == &file_name[i + 1..]))
                .map(|(_, f)| *f)
                .next()
        })
    }

    fn from_exact_name(file_name: &str, parent_dir: Option<&str>) -> Option<Format> {
        let lower = file_name.to_ascii_lowercase();
        let format = match file_name {
            "Cargo.lock" => Format::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" | ".package-lock.json" => Format::NpmLock,
            "yarn.lock" => Format::YarnLock,
            "pnpm-lock.yaml" => Format::PnpmLock,
            "composer.lock" => Format::ComposerLock,
            "installed.json" if parent_dir == Some("composer") => Format::ComposerInstalled,
            "poetry.lock" => Format::PoetryLock,
            "Pipfile.lock" => Format::PipfileLock,
            "pdm.lock" => Format::PdmLock,
            "uv.lock" => Format::UvLock,
            "bun.lock" => Format::BunLock,
            "pylock.toml" => Format::PyLock,
            _ if lower.starts_with("pylock.") && lower.ends_with(".toml") => Format::PyLock,
            "go.mod" => Format::GoMod,
            "Gemfile.lock" | "gems.locked" => Format::GemfileLock,
            "pom.xml" => Format::PomXml,
            "gradle.lockfile" | "buildscript-gradle.lockfile" => Format::GradleLock,
            "packages.lock.json" => Format::NuGetLock,
            "mix.lock" => Format::MixLock,
            "pubspec.lock" => Format::PubspecLock,
            "conan.lock" => Format::ConanLock,
            "renv.lock" => Format::RenvLock,
            "verification-metadata.xml" => Format::GradleVerificationMetadata,
            "bom.json" => Format::CycloneDxJson,
            "METADATA" | "PKG-INFO"
                if parent_dir
                    .is_some_and(|d| d.ends_with(".dist-info") || d.ends_with(".egg-info")) =>
            {
                Format::PythonMetadata
            }
            "Drupal.php" if parent_dir == Some("lib") => Format::DrupalCore,
            "bootstrap.inc" if parent_dir == Some("includes") => Format::DrupalCore,
            _ if lower.ends_with(".info.yml") || (lower.ends_with(".info") && lower.len() > 5) => {
                Format::DrupalInfo
            }
            _ if lower.ends_with(".cdx.json") => Format::CycloneDxJson,
            _ if lower.ends_with(".spdx.json") => Format::SpdxJson,
            // `requirements*.txt`, and every `.txt` of a `requirements/` folder (`base.txt`).
            _ if lower.ends_with(".txt")
                && (lower.contains("requirements") || parent_dir == Some("requirements")) =>
            {
                Format::Requirements
            }
            _ if lower.ends_with(".gradle.lockfile") => Format::GradleLock,
            _ => return None,
        };
        Some(format)
    }

    /// The format of an input judged by its content, for OS package databases and SBOMs
    /// (which are often copied under other names). Only the first 64 KiB are looked at.
    pub fn from_content(bytes: &[u8]) -> Option<Format> {
        if (bytes.starts_with(b"\x7fELF")
            || bytes.starts_with(b"MZ")
            || bytes.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]))
            && crate::formats::go_binary::is_go_binary(bytes)
        {
            return Some(Format::GoBinary);
        }
        let head = &bytes[..bytes.len().min(64 * 1024)];
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') {
            let compact: String =
                trimmed.chars().filter(|c| !c.is_whitespace()).take(4096).collect();
            if compact.contains("\"bomFormat\":\"CycloneDX\"") {
                return Some(Format::CycloneDxJson);
            }
            if compact.contains("\"spdxVersion\":\"SPDX-") {
                return Some(Format::SpdxJson);
            }
            if compact.starts_with("{\"results\":[") {
                return Some(Format::OsvScannerResults);
            }
            return None;
        }
        let has_line =
            |prefix: &str| text.starts_with(prefix) || text.contains(&format!("\n{prefix}"));
        if has_line("Package: ") && has_line("Status: ") {
            return Some(Format::DpkgStatus);
        }
        if has_line("P:") && has_line("V:") && (has_line("C:Q1") || has_line("A:")) {
            return Some(Format::ApkInstalled);
        }
        None
    }
}

/// Exact file names, also recognised as the suffix of a copy's name.
const KNOWN_NAMES: &[(&str, Format)] = &[
    ("Cargo.lock", Format::CargoLock),
    ("package-lock.json", Format::NpmLock),
    ("npm-shrinkwrap.json", Format::NpmLock),
    ("yarn.lock", Format::YarnLock),
    ("pnpm-lock.yaml", Format::PnpmLock),
    ("composer.lock", Format::ComposerLock),
    ("poetry.lock", Format::PoetryLock),
    ("Pipfile.lock", Format::PipfileLock),
    ("pdm.lock", Format::PdmLock),
    ("uv.lock", Format::UvLock),
    ("bun.lock", Format::BunLock),
    ("go.mod", Format::GoMod),
    ("Gemfile.lock", Format::GemfileLock),
    ("pom.xml", Format::PomXml),
    ("gradle.lockfile", Format::GradleLock),
    ("packages.lock.json", Format::NuGetLock),
    ("mix.lock", Format::MixLock),
    ("pubspec.lock", Format::PubspecLock),
    ("conan.lock", Format::ConanLock),
    ("renv.lock", Format::RenvLock),
];

/// The format of a file: by name first, then by content.
pub fn detect(file_name: &str, parent_dir: Option<&str>, bytes: &[u8]) -> Option<Format> {
    Format::from_file_name(file_name, parent_dir).or_else(|| Format::from_content(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, parent: Option<&str>, content: &str, expect: Option<Format>) {
        assert_eq!(detect(name, parent, content.as_bytes()), expect, "{name}");
    }

    #[test]
    fn detects_by_name_and_content() {
        check("Cargo.lock", None, "", Some(Format::CargoLock));
        check("requirements-dev.txt", None, "", Some(Format::Requirements));
        check("base.txt", Some("requirements"), "", Some(Format::Requirements));
        check("base.txt", Some("docs"), "", None);
        check("installed.json", Some("composer"), "", Some(Format::ComposerInstalled));
        check("METADATA", Some("flask-3.0.dist-info"), "", Some(Format::PythonMetadata));
        check("METADATA", Some("src"), "", None);
        check(
            "dpkg-status",
            None,
            "Package: a\nStatus: install ok installed\n",
            Some(Format::DpkgStatus),
        );
        check("installed.copy", None, "C:Q1abc=\nP:musl\nV:1.2\n", Some(Format::ApkInstalled));
        check("sbom", None, "{ \"bomFormat\": \"CycloneDX\" }", Some(Format::CycloneDxJson));
        check("x.json", None, "{\"spdxVersion\": \"SPDX-2.3\"}", Some(Format::SpdxJson));
        check("notes.txt", None, "hello", None);
        check("ripgrep-15.2.0.Cargo.lock", None, "", Some(Format::CargoLock));
        check("express.package-lock.json", None, "", Some(Format::NpmLock));
        check("my.lock", None, "", None);
        check("Drupal.php", Some("lib"), "", Some(Format::DrupalCore));
        check("token.info.yml", Some("token"), "", Some(Format::DrupalInfo));
    }
}
