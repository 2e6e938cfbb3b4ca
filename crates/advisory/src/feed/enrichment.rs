//! Enrichment feeds: CISA's Known Exploited Vulnerabilities catalogue (JSON) and FIRST's EPSS
//! scores (CSV). They add facts to CVE ids; they are not advisories of their own.

use serde::{Deserialize, Serialize};

use super::{path_error, text, ImportError, Parsed};

/// One KEV entry: a CVE known to be exploited, and CISA's remediation due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    #[serde(rename = "cveID")]
    pub cve_id: String,
    #[serde(default)]
    pub vendor_project: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub vulnerability_name: String,
    #[serde(default)]
    pub date_added: String,
    #[serde(default)]
    pub due_date: String,
    #[serde(default)]
    pub known_ransomware_campaign_use: String,
    #[serde(default)]
    pub required_action: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalogue {
    #[serde(default)]
    catalog_version: Option<String>,
    vulnerabilities: Vec<KevEntry>,
}

/// One EPSS score: probability of exploitation in the next 30 days, and its percentile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub cve: String,
    pub epss: f64,
    pub percentile: f64,
    /// The `score_date` of the file's header comment, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Parses `known_exploited_vulnerabilities.json`.
pub fn parse_kev(path: &str, bytes: &[u8]) -> Parsed {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let catalogue: Catalogue = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(c) => c,
        Err(e) => return Parsed { errors: vec![path_error(path, e)], ..Parsed::default() },
    };
    let _ = catalogue.catalog_version;
    let mut parsed = Parsed::default();
    for (i, entry) in catalogue.vulnerabilities.into_iter().enumerate() {
        if entry.cve_id.starts_with("CVE-") {
            parsed.kev.push(entry);
        } else {
            parsed.errors.push(ImportError::new(
                path,
                &format!("vulnerabilities[{i}].cveID"),
                format!("{:?} is not a CVE id", entry.cve_id),
            ));
        }
    }
    parsed
}

/// Parses an EPSS CSV: an optional `#model_version:...,score_date:...` line, the header
/// `cve,epss,percentile`, then one line per CVE.
/// FIRST publishes it gzipped (`epss_scores-current.csv.gz`): compressed input is read through.
pub fn parse_epss(path: &str, bytes: &[u8]) -> Parsed {
    let bytes = match super::compression::decompress(path, bytes) {
        Ok(b) => b,
        Err(e) => return Parsed { errors: vec![e], ..Parsed::default() },
    };
    let text = match text(path, &bytes) {
        Ok(t) => t,
        Err(p) => return p,
    };
    let mut parsed = Parsed::default();
    let mut date = None;
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let field = format!("line {}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            date = comment
                .split(',')
                .find_map(|kv| kv.trim().strip_prefix("score_date:"))
                .map(|d| d.trim().to_string())
                .or(date);
            continue;
        }
        if !header_seen {
            if line != "cve,epss,percentile" {
                parsed.errors.push(ImportError::new(
                    path,
                    &field,
                    "expected the header `cve,epss,percentile`",
                ));
                return parsed;
            }
            header_seen = true;
            continue;
        }
        let cols: Vec<&str> = line.split(',').collect();
        let score = match cols.as_slice() {
            [cve, epss, percentile] if cve.starts_with("CVE-") => {
                match (epss.parse::<f64>(), percentile.parse::<f64>()) {
                    (Ok(e), Ok(p)) if (0.0..=1.0).contains(&e) && (0.0..=1.0).contains(&p) => {
                        Ok(EpssScore {
                            cve: cve.to_string(),
                            epss: e,
                            percentile: p,
                            date: date.clone(),
                        })
                    }
                    _ => Err("epss and percentile must be numbers between 0 and 1"),
                }
            }
            [_, _, _] => Err("the first column is not a CVE id"),
            _ => Err("expected three columns: cve,epss,percentile"),
        };
        match score {
            Ok(s) => parsed.epss.push(s),
            Err(m) => parsed.errors.push(ImportError::new(path, &field, m)),
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epss_lines() {
        let csv = "#model_version:v2023.03.01,score_date:2024-06-01T00:00:00+0000\ncve,epss,percentile\nCVE-2024-1,0.5,0.9\nCVE-2024-2,x,0.1\n";
        let parsed = parse_epss("e.csv", csv.as_bytes());
        assert_eq!(parsed.epss.len(), 1);
        assert_eq!(parsed.epss[0].date.as_deref(), Some("2024-06-01T00:00:00+0000"));
        assert_eq!(parsed.errors[0].field, "line 4");
    }

    /// FIRST's own download is `epss_scores-current.csv.gz`: detected and read as it comes.
    #[test]
    fn gzipped_epss_is_detected_and_read() {
        use std::io::Write;
        let csv = "#model_version:v2023.03.01,score_date:2026-11-20T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(csv.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let name = "epss_scores-current.csv.gz";
        assert_eq!(super::super::detect(name, &bytes), Some(super::super::Format::EpssCsv));
        let parsed = parse_epss(name, &bytes);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.epss.len(), 1);
        let truncated = parse_epss(name, &bytes[..bytes.len() / 2]);
        assert!(
            truncated.epss.is_empty() && truncated.errors[0].file == name,
            "{:?}",
            truncated.errors
        );
    }

    #[test]
    fn kev_entries() {
        let json = br#"{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"},{"cveID":"X"}]}"#;
        let parsed = parse_kev("kev.json", json);
        assert_eq!(parsed.kev.len(), 1);
        assert_eq!(parsed.errors[0].field, "vulnerabilities[1].cveID");
    }
}
