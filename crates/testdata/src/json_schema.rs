//! Validation of ward's JSON outputs against the official schemas (SARIF 2.1.0, CycloneDX 1.6)
//! with the reference validators: `validate_json.py` beside this crate, run with the Python of
//! the tools venv `.ci/run` installs (`$WARD_TOOLS_DIR`, default `~/.cache/ward-tools`).
//!
//! A missing validator is an error, never a skip: a test that validates must fail on a machine
//! without the tools, saying how to install them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ward_process::Status;

/// The schemas [`validate_json`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// SARIF 2.1.0 (`sarif-2.1.0-rtm.5.json`, as shipped by the npm package
    /// `@microsoft/jest-sarif`), checked by Python's `jsonschema`.
    Sarif210,
    /// CycloneDX 1.6 JSON, checked by `cyclonedx-python-lib`'s strict validator (no unknown
    /// properties), with `specVersion` "1.6".
    CycloneDx16,
}

impl Schema {
    /// The name `validate_json.py` takes.
    fn script_argument(self) -> &'static str {
        match self {
            Schema::Sarif210 => "sarif",
            Schema::CycloneDx16 => "cyclonedx-1.6",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Schema::Sarif210 => "SARIF 2.1.0",
            Schema::CycloneDx16 => "CycloneDX 1.6",
        }
    }
}

/// How long one validation may take (Python starts and loads the schema in about a second).
const TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL_HINT: &str = "run `.ci/run tools` to install the JSON-schema validators \
    (into $WARD_TOOLS_DIR, default ~/.cache/ward-tools)";

/// Validates the JSON document `json` against `schema` with the reference validator.
///
/// `Ok(())` when it is valid. `Err` with every validation error (JSON pointer and message, one
/// per line) when it is not, and `Err` naming what to install when the validator or the schema
/// is missing.
pub fn validate_json(schema: Schema, json: &[u8]) -> Result<(), String> {
    validate_json_with(&tools_dir()?, schema, json)
}

/// Validates `json` against a JSON Schema of ward's own (draft 2020-12, e.g. one built from the
/// server's OpenAPI document) with Python's `jsonschema`, formats checked. Same results as
/// [`validate_json`].
pub fn validate_json_against(schema: &[u8], json: &[u8]) -> Result<(), String> {
    let mut file = tempfile::Builder::new()
        .prefix("ward-schema-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    std::io::Write::write_all(&mut file, schema)
        .map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
    let argument = format!("schema={}", file.path().display());
    run_validator(&tools_dir()?, &argument, "the given JSON Schema", json)
}

/// `$WARD_TOOLS_DIR`, or `~/.cache/ward-tools` (as `.ci/run` decides it).
fn tools_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WARD_TOOLS_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache/ward-tools")),
        None => Err(format!("neither WARD_TOOLS_DIR nor HOME is set; {INSTALL_HINT}")),
    }
}

fn validate_json_with(tools: &Path, schema: Schema, json: &[u8]) -> Result<(), String> {
    run_validator(tools, schema.script_argument(), schema.title(), json)
}

fn run_validator(tools: &Path, argument: &str, title: &str, json: &[u8]) -> Result<(), String> {
    let python = tools.join("bin/python3");
    if !python.is_file() {
        return Err(format!(
            "cannot validate {title}: the tools venv is missing ({} does not exist); {INSTALL_HINT}",
            python.display()
        ));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("validate_json.py");
    let mut file = tempfile::Builder::new()
        .prefix("ward-validate-")
        .suffix(".json")
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    std::io::Write::write_all(&mut file, json)
        .map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
    let out = ward_process::Command::new(&python)
        .arg(&script)
        .arg(argument)
        .arg(file.path())
        .env("WARD_TOOLS_DIR", tools)
        .timeout(TIMEOUT)
        .run()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr.bytes);
    let stderr = stderr.trim_end();
    match out.status {
        Status::Exited(0) => Ok(()),
        Status::Exited(1) => Err(format!("the document is not valid {title}:\n{stderr}")),
        Status::Exited(2) => Err(format!("cannot validate {title}: {stderr}")),
        status => Err(format!(
            "cannot validate {title}: {} ended with {status}: {stderr}",
            script.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates `json` against `schema`: `Ok` when `expect_errors` is empty, else an `Err`
    /// naming each of `expect_errors` (JSON pointers and words of the messages).
    fn check(schema: Schema, json: &str, expect_errors: &[&str]) {
        let result = validate_json(schema, json.as_bytes());
        match (result, expect_errors.is_empty()) {
            (Ok(()), true) => {}
            (Ok(()), false) => panic!("accepted, expected {expect_errors:?}:\n{json}"),
            (Err(e), true) => panic!("rejected a valid document: {e}\n{json}"),
            (Err(e), false) => {
                assert!(e.starts_with("the document is not valid"), "{e}");
                for want in expect_errors {
                    assert!(e.contains(want), "{want:?} is not in:\n{e}");
                }
            }
        }
    }

    const SARIF_MINIMAL: &str = r#"{
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "ward"}}, "results": []}]
    }"#;

    const SARIF_WITH_A_RESULT: &str = r#"{
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ward", "informationUri": "https://example.invalid/ward",
                "rules": [{"id": "CVE-2024-0001", "shortDescription": {"text": "a flaw"}}]}},
            "results": [{
                "ruleId": "CVE-2024-0001",
                "level": "error",
                "message": {"text": "serde 1.0.0 is affected"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "Cargo.lock"},
                    "region": {"startLine": 3}
                }}]
            }]
        }]
    }"#;

    #[test]
    fn sarif_minimal_documents_are_valid() {
        check(Schema::Sarif210, SARIF_MINIMAL, &[]);
        check(Schema::Sarif210, SARIF_WITH_A_RESULT, &[]);
    }

    #[test]
    fn sarif_errors_are_all_reported_with_their_pointer() {
        check(
            Schema::Sarif210,
            r#"{
                "version": "2.0.0",
                "runs": [{
                    "tool": {},
                    "results": [{"ruleId": "x", "level": "fatal"}],
                    "invocations": [{"executionSuccessful": true, "startTimeUtc": "yesterday"}]
                }]
            }"#,
            &[
                "/version: '2.0.0' is not one of ['2.1.0']",
                "/runs/0/tool: 'driver' is a required property",
                "/runs/0/results/0: 'message' is a required property",
                "/runs/0/results/0/level: 'fatal' is not one of",
                "/runs/0/invocations/0/startTimeUtc: 'yesterday' is not a 'date-time'",
            ],
        );
        check(Schema::Sarif210, r#"{"version": "2.1.0"}"#, &["(root): 'runs' is a required"]);
        check(Schema::Sarif210, "[1, 2", &["(root): not JSON"]);
    }

    const CYCLONEDX_MINIMAL: &str =
        r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}"#;

    const CYCLONEDX_WITH_A_VULNERABILITY: &str = r#"{
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {"tools": {"components": [{"type": "application", "name": "ward"}]}},
        "components": [{
            "type": "library", "bom-ref": "pkg:cargo/serde@1.0.0", "name": "serde",
            "version": "1.0.0", "purl": "pkg:cargo/serde@1.0.0",
            "properties": [{"name": "ward:ecosystem", "value": "crates.io"}]
        }],
        "vulnerabilities": [{
            "id": "CVE-2024-0001",
            "source": {"name": "OSV", "url": "https://osv.dev/vulnerability/CVE-2024-0001"},
            "ratings": [{"severity": "high", "method": "CVSSv31", "score": 7.5}],
            "affects": [{"ref": "pkg:cargo/serde@1.0.0"}]
        }]
    }"#;

    #[test]
    fn cyclonedx_minimal_documents_are_valid() {
        check(Schema::CycloneDx16, CYCLONEDX_MINIMAL, &[]);
        check(Schema::CycloneDx16, CYCLONEDX_WITH_A_VULNERABILITY, &[]);
    }

    #[test]
    fn cyclonedx_errors_are_all_reported_with_their_pointer() {
        check(
            Schema::CycloneDx16,
            r#"{
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "serialNumber": "nope",
                "version": 1,
                "components": [{"type": "libary", "version": "1.0.0", "colour": "red"}],
                "vulnerabilities": [{"id": "CVE-2024-0001", "ratings": [{"severity": "dire"}]}]
            }"#,
            &[
                "/serialNumber: 'nope' does not match",
                "/components/0/type: 'libary' is not one of",
                "/components/0: 'name' is a required property",
                "/components/0: Additional properties are not allowed ('colour' was unexpected)",
                "/vulnerabilities/0/ratings/0/severity: 'dire' is not one of",
            ],
        );
        check(
            Schema::CycloneDx16,
            r#"{"bomFormat": "SPDX", "specVersion": "1.5", "version": 1}"#,
            &[
                "/bomFormat: 'SPDX' is not one of ['CycloneDX']",
                r#"/specVersion: "1.5" is not "1.6""#,
            ],
        );
    }

    #[test]
    fn a_missing_tools_venv_is_an_error_naming_the_fix() {
        let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-tools-dir");
        let e = validate_json_with(&missing, Schema::Sarif210, SARIF_MINIMAL.as_bytes())
            .expect_err("no validator, no success");
        assert!(e.contains("no-such-tools-dir/bin/python3 does not exist"), "{e}");
        assert!(e.contains("run `.ci/run tools`"), "{e}");
    }

    #[test]
    fn a_tools_venv_without_the_validators_is_an_error_naming_the_fix() {
        // A venv of the same Python with nothing installed in it.
        let real = tools_dir().expect("tools dir");
        assert!(real.join("bin/python3").is_file(), "no tools venv; {INSTALL_HINT}");
        let empty = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(empty.path().join("bin")).expect("bin");
        std::os::unix::fs::symlink(real.join("bin/python3"), empty.path().join("bin/python3"))
            .expect("symlink");
        std::fs::copy(real.join("pyvenv.cfg"), empty.path().join("pyvenv.cfg")).expect("cfg");
        for (schema, package) in
            [(Schema::Sarif210, "jsonschema"), (Schema::CycloneDx16, "cyclonedx-python-lib")]
        {
            let e = validate_json_with(empty.path(), schema, b"{}")
                .expect_err("no validator, no success");
            assert!(e.contains(&format!("the Python package {package} is not installed")), "{e}");
            assert!(e.contains("run .ci/run tools"), "{e}");
        }
    }
}
