//! dpkg's `status` database (`/var/lib/dpkg/status`) as the patch engine needs it: per
//! installed package its version, architecture, source, state, selection (hold) and
//! conffiles with the checksums dpkg recorded.

/// One package paragraph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusEntry {
    pub package: String,
    pub architecture: String,
    pub version: String,
    /// The source package name (the package's own name when the field is absent).
    pub source: String,
    /// The three words of `Status:` (`install ok installed`, `hold ok half-configured`).
    pub want: String,
    pub state: String,
    /// `(path, md5)` of each conffile dpkg knows (`obsolete` ones excluded).
    pub conffiles: Vec<(String, String)>,
}

impl StatusEntry {
    pub fn is_installed(&self) -> bool {
        self.state == "installed"
    }

    pub fn is_held(&self) -> bool {
        self.want == "hold"
    }

    /// A state an interrupted dpkg leaves behind: `dpkg --configure -a` finishes it.
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self.state.as_str(),
            "half-installed"
                | "unpacked"
                | "half-configured"
                | "triggers-awaited"
                | "triggers-pending"
        )
    }

    /// `name` for packages of the native or `all` architecture, `name:arch` otherwise as
    /// dpkg and apt print foreign packages.
    pub fn matches(&self, apt_name: &str) -> bool {
        match apt_name.split_once(':') {
            Some((name, arch)) => name == self.package && arch == self.architecture,
            None => apt_name == self.package,
        }
    }
}

/// Reads the status file. Paragraphs without a `Package` field are skipped.
pub fn parse(text: &str) -> Vec<StatusEntry> {
    let mut out = Vec::new();
    for paragraph in text.split("\n\n") {
        let mut entry = StatusEntry::default();
        let mut in_conffiles = false;
        for line in paragraph.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if in_conffiles {
                    let mut words = line.split_whitespace();
                    if let (Some(path), Some(md5)) = (words.next(), words.next()) {
                        if !words.any(|w| w == "obsolete") {
                            entry.conffiles.push((path.to_string(), md5.to_string()));
                        }
                    }
                }
                continue;
            }
            in_conffiles = false;
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            match key {
                "Package" => entry.package = value.to_string(),
                "Architecture" => entry.architecture = value.to_string(),
                "Version" => entry.version = value.to_string(),
                "Source" => {
                    entry.source = value.split_whitespace().next().unwrap_or_default().to_string();
                }
                "Status" => {
                    let words: Vec<&str> = value.split_whitespace().collect();
                    entry.want = words.first().copied().unwrap_or_default().to_string();
                    entry.state = words.get(2).copied().unwrap_or_default().to_string();
                }
                "Conffiles" => in_conffiles = true,
                _ => {}
            }
        }
        if entry.package.is_empty() {
            continue;
        }
        if entry.source.is_empty() {
            entry.source = entry.package.clone();
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_sources_states_and_conffiles() {
        let entries = parse(
            "Package: apt\nStatus: install ok installed\nPriority: important\nArchitecture: amd64\n\
             Version: 2.6.1\nConffiles:\n /etc/apt/apt.conf.d/01autoremove 879455db9b938ce287b23383629aedce\n \
             /etc/cron.daily/apt-compat 1400ab07a4a2905b04c33e3e93d42b7b\n /etc/old.conf 0123 obsolete\n\
             Description: x\n continued\n\n\
             Package: libpcre2-8-0\nStatus: hold ok half-configured\nArchitecture: amd64\n\
             Source: pcre2 (10.42-1)\nVersion: 10.42-1\n\n\
             Status: install ok installed\n",
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].source, "apt");
        assert_eq!(
            entries[0].conffiles,
            [
                (
                    "/etc/apt/apt.conf.d/01autoremove".to_string(),
                    "879455db9b938ce287b23383629aedce".to_string()
                ),
                (
                    "/etc/cron.daily/apt-compat".to_string(),
                    "1400ab07a4a2905b04c33e3e93d42b7b".to_string()
                ),
            ]
        );
        assert!(entries[0].is_installed() && !entries[0].is_held());
        assert_eq!(entries[1].source, "pcre2");
        assert!(entries[1].is_held() && entries[1].is_interrupted());
        assert!(entries[1].matches("libpcre2-8-0") && entries[1].matches("libpcre2-8-0:amd64"));
        assert!(!entries[1].matches("libpcre2-8-0:i386"));
    }
}
