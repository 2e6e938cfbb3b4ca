//! Wire formats: the versioned JSON inventory (`ward.inventory/1`, documented in
//! `docs/json/inventory.md`) and CycloneDX 1.6 JSON. These types are the contract with users'
//! scripts; they are converted from the internal model here, so internals can change freely.

use serde::Serialize;

use crate::{Package, ParseError, Relation};

/// The schema identifier of [`InventoryV1`].
pub const INVENTORY_SCHEMA: &str = "ward.inventory/1";

/// `ward inventory --format json`.
#[derive(Debug, Serialize)]
pub struct InventoryV1 {
    pub schema: &'static str,
    /// Facts about the machine, only for `ward inventory --host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostV1>,
    pub packages: Vec<PackageV1>,
    pub errors: Vec<ErrorV1>,
}

/// `host`: what ward knows about the machine it ran on.
#[derive(Debug, Serialize)]
pub struct HostV1 {
    pub os: OsV1,
    /// Absent when the running kernel is unknown (no `/proc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<KernelV1>,
    /// Debian's `/var/run/reboot-required` exists: an update asked for a reboot.
    pub reboot_required: bool,
    /// The packages listed in `/var/run/reboot-required.pkgs`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reboot_required_packages: Vec<String>,
    /// Processes still running code an update deleted or replaced: they need a restart for
    /// the update to be in effect. Ordered by pid.
    pub restart_needed: Vec<RestartV1>,
    /// Sockets accepting connections (TCP) or datagrams (UDP), with their process when ward
    /// may see it. Ordered by protocol, port, address.
    pub listening: Vec<ListenerV1>,
}

/// One listening socket.
#[derive(Debug, Serialize)]
pub struct ListenerV1 {
    /// `tcp`, `tcp6`, `udp` or `udp6`.
    pub protocol: &'static str,
    pub address: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One process that maps deleted files.
#[derive(Debug, Serialize)]
pub struct RestartV1 {
    pub pid: u32,
    /// The process name (`/proc/<pid>/comm`).
    pub command: String,
    /// The systemd unit to restart, when the process runs in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The deleted files it still maps.
    pub files: Vec<String>,
    /// The packages (dpkg) those files belonged to, when known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OsV1 {
    /// os-release `ID` (`debian`, `ubuntu`, `alpine`...).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// The OSV ecosystem of the OS packages (`Debian:12`); absent when OSV has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct KernelV1 {
    pub running: String,
    /// Releases of installed kernel packages, oldest first.
    pub installed: Vec<String>,
    /// The newest installed kernel is not the running one; absent when no kernel package is
    /// installed (containers, externally booted VMs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reboot_needed: Option<bool>,
}

impl HostV1 {
    pub fn new(
        os: &crate::host::OsRelease,
        kernels: Option<&crate::host::Kernels>,
        reboot_required: bool,
        reboot_required_packages: Vec<String>,
        restart_needed: Vec<RestartV1>,
        listening: Vec<ListenerV1>,
    ) -> HostV1 {
        HostV1 {
            os: OsV1 {
                id: os.id.clone(),
                version_id: os.version_id.clone(),
                pretty_name: os.pretty_name.clone(),
                ecosystem: os.ecosystem().map(|e| e.to_string()),
            },
            kernel: kernels.map(|k| KernelV1 {
                running: k.running.clone(),
                installed: k.installed.clone(),
                reboot_needed: k.reboot_needed,
            }),
            reboot_required,
            reboot_required_packages,
            restart_needed,
            listening,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LocationV1 {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct SourceV1 {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct PackageV1 {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub purl: String,
    pub location: LocationV1,
    /// `direct` or `transitive`; absent when the format does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<&'static str>,
    #[serde(skip_serializing_if = "is_false")]
    pub dev: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub optional: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceV1>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Present (possibly empty) when the input pins no version: the requirement as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// Not a registry package (a workspace member, path or git dependency); absent when false.
    #[serde(skip_serializing_if = "is_false")]
    pub local: bool,
}

#[derive(Debug, Serialize)]
pub struct ErrorV1 {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl From<&Package> for PackageV1 {
    fn from(p: &Package) -> PackageV1 {
        PackageV1 {
            ecosystem: p.ecosystem.to_string(),
            name: p.name.clone(),
            version: p.version.clone(),
            purl: p.purl(),
            location: LocationV1 { path: p.location.path.clone(), line: p.location.line },
            relation: match p.relation {
                Relation::Unknown => None,
                Relation::Direct => Some("direct"),
                Relation::Transitive => Some("transitive"),
            },
            dev: p.dev,
            optional: p.optional,
            groups: p.groups.clone(),
            source: p
                .source
                .as_ref()
                .map(|s| SourceV1 { name: s.name.clone(), version: s.version.clone() }),
            arch: p.arch.clone(),
            commit: p.commit.clone(),
            requirement: p.requirement.clone(),
            local: p.local,
        }
    }
}

impl From<&ParseError> for ErrorV1 {
    fn from(e: &ParseError) -> ErrorV1 {
        ErrorV1 { path: e.path.clone(), line: e.line, message: e.message.clone() }
    }
}

impl InventoryV1 {
    pub fn new(packages: &[Package], errors: &[ParseError], host: Option<HostV1>) -> InventoryV1 {
        InventoryV1 {
            schema: INVENTORY_SCHEMA,
            host,
            packages: packages.iter().map(PackageV1::from).collect(),
            errors: errors.iter().map(ErrorV1::from).collect(),
        }
    }
}

/// A CycloneDX 1.6 JSON document listing `packages` as library components. Deterministic: no
/// timestamp or random serial number, so the same inventory gives the same bytes.
pub fn cyclonedx(packages: &[Package], tool_version: &str) -> serde_json::Value {
    let components: Vec<serde_json::Value> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let purl = p.purl();
            let mut properties = vec![serde_json::json!({"name": "ward:ecosystem", "value": p.ecosystem.to_string()})];
            let location = match p.location.line {
                Some(line) => format!("{}:{line}", p.location.path),
                None => p.location.path.clone(),
            };
            properties.push(serde_json::json!({"name": "ward:location", "value": location}));
            if let Some(s) = &p.source {
                properties.push(serde_json::json!({"name": "ward:source", "value": format!("{} {}", s.name, s.version)}));
            }
            let mut c = serde_json::json!({
                "type": "library",
                "bom-ref": format!("{i}:{purl}"),
                "name": p.name,
                "purl": purl,
                "properties": properties,
            });
            if !p.version.is_empty() {
                c["version"] = serde_json::Value::String(p.version.clone());
            }
            if p.dev {
                c["scope"] = "excluded".into();
            } else if p.optional {
                c["scope"] = "optional".into();
            }
            c
        })
        .collect();
    serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "ward", "version": tool_version}]}
        },
        "components": components,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;
    use ward_version::EcosystemKind;

    #[test]
    fn cyclonedx_round_trips_through_the_reader() {
        let mut p = Package::new(
            EcosystemKind::Npm,
            "@s/a",
            "1.0.0",
            Location { path: "package-lock.json".into(), line: Some(3) },
        );
        p.dev = true;
        let doc = cyclonedx(&[p], "0.1.0");
        let bytes = serde_json::to_vec(&doc).unwrap();
        let back = crate::formats::sbom::parse_cyclonedx("bom.json", &bytes);
        assert!(back.errors.is_empty(), "{:?}", back.errors);
        assert_eq!(
            (
                back.packages[0].name.as_str(),
                back.packages[0].version.as_str(),
                back.packages[0].dev
            ),
            ("@s/a", "1.0.0", true)
        );
    }

    #[test]
    fn json_leaves_out_what_the_format_did_not_say() {
        let p = Package::new(
            EcosystemKind::CratesIo,
            "serde",
            "1.0.0",
            Location { path: "Cargo.lock".into(), line: None },
        );
        let text = serde_json::to_string(&InventoryV1::new(&[p], &[], None)).unwrap();
        assert_eq!(
            text,
            r#"{"schema":"ward.inventory/1","packages":[{"ecosystem":"crates.io","name":"serde","version":"1.0.0","purl":"pkg:cargo/serde@1.0.0","location":{"path":"Cargo.lock"}}],"errors":[]}"#
        );
    }
}
