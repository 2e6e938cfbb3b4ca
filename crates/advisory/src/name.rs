//! Package-name normalization: the second half of the index key (ecosystem, name).
//!
//! Each ecosystem's registry decides which spellings are the same package; the index stores
//! and looks up the normalized form, so `Django`, `django` and `DJANGO` find the same records.

/// The normalized name of `name` in the ecosystem whose OSV base name is `ecosystem`
/// (`PyPI`, `crates.io`, ...; without a release).
pub fn normalize(ecosystem: &str, name: &str) -> String {
    let name = name.trim();
    match ecosystem {
        // PEP 503: runs of `-`, `_`, `.` are one `-`, case-insensitive.
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut separator = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    separator = true;
                } else {
                    if separator && !out.is_empty() {
                        out.push('-');
                    }
                    separator = false;
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
        // crates.io treats `-` and `_` as the same and names are case-insensitive.
        "crates.io" if name.contains('_') => name.to_ascii_lowercase().replace('_', "-"),
        "crates.io" => name.to_ascii_lowercase(),
        // Case-insensitive registries.
        "npm" | "Packagist" | "NuGet" | "RubyGems" | "Hex" | "Pub" | "Alpine" | "Debian"
        | "Ubuntu" => name.to_lowercase(),
        // Go module paths, Maven coordinates and everything else are exact.
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    fn check(ecosystem: &str, name: &str, expect: &str) {
        assert_eq!(normalize(ecosystem, name), expect, "{ecosystem} {name}");
    }

    #[test]
    fn per_ecosystem() {
        check("PyPI", "Zope.Interface", "zope-interface");
        check("PyPI", "a__b-_c", "a-b-c");
        check("crates.io", "Serde_JSON", "serde-json");
        check("Packagist", "Drupal/Core", "drupal/core");
        check("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml");
        check("Maven", "org.apache:Log4j", "org.apache:Log4j");
    }
}
