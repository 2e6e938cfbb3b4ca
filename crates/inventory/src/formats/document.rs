//! Reading whole JSON, TOML and YAML documents into value trees. A document that does not
//! parse yields one error naming the line the underlying parser stopped at.

use serde_json::Value as Json;
use yaml_rust2::Yaml;

use crate::lines::{self, JsonStrings, Lines};
use crate::Parsed;

/// The shape of every JSON lockfile parser: decodes `bytes`, parses the document and hands it
/// to `read` with the string index that finds lines; a syntax error is the whole result.
pub(crate) fn with_json(
    path: &str,
    bytes: &[u8],
    read: impl FnOnce(&Json, &JsonStrings<'_>) -> Parsed,
) -> Parsed {
    let text = lines::text(bytes);
    match json(path, &text) {
        Ok(doc) => read(&doc, &JsonStrings::new(&text)),
        Err(failed) => failed,
    }
}

/// Parses JSON, or returns the error result for the whole file.
pub(crate) fn json(path: &str, text: &str) -> Result<Json, Parsed> {
    serde_json::from_str(text).map_err(|e| {
        let line = u32::try_from(e.line()).ok().filter(|l| *l > 0);
        Parsed::failed(path, line, format!("not valid JSON: {e}"))
    })
}

/// Parses TOML, or returns the error result for the whole file.
pub(crate) fn toml(path: &str, text: &str) -> Result<toml::Table, Parsed> {
    text.parse::<toml::Table>().map_err(|e| {
        let line = e.span().map(|s| Lines::new(text).line_of(s.start));
        let message = e.message().to_string();
        Parsed::failed(path, line, format!("not valid TOML: {message}"))
    })
}

/// Parses the first YAML document, or returns the error result for the whole file.
pub(crate) fn yaml(path: &str, text: &str) -> Result<Yaml, Parsed> {
    match yaml_rust2::YamlLoader::load_from_str(text) {
        Ok(mut docs) => Ok(if docs.is_empty() { Yaml::Null } else { docs.swap_remove(0) }),
        Err(e) => {
            // At the end of input the parser points one line past the last one.
            let last = u32::try_from(text.lines().count().max(1)).unwrap_or(u32::MAX);
            let line =
                u32::try_from(e.marker().line()).ok().filter(|l| *l > 0).map(|l| l.min(last));
            Err(Parsed::failed(path, line, format!("not valid YAML: {}", e.info())))
        }
    }
}

/// A YAML scalar as text (`1.0` stays `1.0`; numbers keep their written form where the YAML
/// parser keeps it).
pub(crate) fn yaml_str(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string field of a JSON object.
pub(crate) fn jstr<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Json::as_str)
}

/// A string field of a TOML table.
pub(crate) fn tstr<'a>(t: &'a toml::Table, key: &str) -> Option<&'a str> {
    t.get(key).and_then(toml::Value::as_str)
}

/// An array of tables (`[[package]]`) of a TOML document; empty when absent.
pub(crate) fn tables<'a>(t: &'a toml::Table, key: &str) -> Vec<&'a toml::Table> {
    t.get(key)
        .and_then(toml::Value::as_array)
        .map(|a| a.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default()
}
