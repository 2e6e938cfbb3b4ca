//! The one normalized advisory model: an OSV 1.7 record with every field kept.
//!
//! Every feed ward reads (OSV itself and the native formats) is converted into [`Record`].
//! Serializing a record gives back OSV JSON: fields that were absent stay absent, lists keep
//! their order, free-form `ecosystem_specific` / `database_specific` objects are kept verbatim as
//! JSON values. Ecosystems are parsed with [`ward_version::Ecosystem`] where ward knows them; the
//! text is always kept, so an unknown ecosystem never fails an import.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use ward_version::range::{Event, OsvRange, RangeKind};
use ward_version::Ecosystem;

/// What deciding whether a record concerns a package's version needs of it: read from the
/// stored JSON without the rest (text, references...), so that the many records that do not
/// affect the installed version are never wholly decoded.
#[derive(Debug, Deserialize)]
pub struct RecordHead {
    #[serde(default)]
    pub withdrawn: Option<serde::de::IgnoredAny>,
    /// The entries without their `severity` and `ecosystem_specific`, which no match reads,
    /// and with only the [`MATCH_KEYS`] of their `database_specific`.
    #[serde(default, deserialize_with = "affected_heads")]
    pub affected: Vec<Affected>,
}

/// The keys of an `affected[].database_specific` object that deciding a match reads: the
/// native ranges of [`crate::affects`] (`source`, `constraints`, `vulnerable_versions`,
/// `patched_versions`) and the binaries a security-suite fact built. A [`RecordHead`] keeps
/// only these.
pub const MATCH_KEYS: [&str; 5] =
    ["source", "constraints", "vulnerable_versions", "patched_versions", "binaries"];

/// An `affected[].database_specific` object reduced to its [`MATCH_KEYS`] (`None` when it has
/// none); anything but an object or null is an error.
fn match_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    /// A key: which of [`MATCH_KEYS`] it is, if any, without copying it.
    struct Key;
    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Option<&'static str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl Visitor<'_> for Key {
        type Value = Option<&'static str>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
            Ok(MATCH_KEYS.iter().copied().find(|k| *k == key))
        }
    }

    struct Object;
    impl<'de> Visitor<'de> for Object {
        type Value = Option<Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut kept = serde_json::Map::new();
            while let Some(key) = map.next_key_seed(Key)? {
                match key {
                    Some(key) => {
                        kept.insert(key.to_string(), map.next_value::<Value>()?);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok((!kept.is_empty()).then_some(Value::Object(kept)))
        }
    }
    deserializer.deserialize_any(Object)
}

impl RecordHead {
    /// The smallest JSON a [`RecordHead`] reads the same as from the whole record: `withdrawn`
    /// and each entry's package, ranges, versions and [`MATCH_KEYS`]. The index stores it
    /// beside the record, so deciding a lookup reads a few hundred bytes, not the advisory.
    pub fn json_of(record: &Record) -> Vec<u8> {
        #[derive(Serialize)]
        struct Head<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            withdrawn: Option<&'a str>,
            affected: Vec<Entry<'a>>,
        }
        #[derive(Serialize)]
        struct Entry<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            package: Option<&'a Package>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            ranges: &'a [Range],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            versions: &'a [String],
            #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
            database_specific: serde_json::Map<String, Value>,
        }
        let head = Head {
            withdrawn: record.withdrawn.as_deref(),
            affected: record
                .affected
                .iter()
                .map(|a| Entry {
                    package: a.package.as_ref(),
                    ranges: &a.ranges,
                    versions: &a.versions,
                    database_specific: a
                        .database_specific
                        .as_ref()
                        .and_then(Value::as_object)
                        .map(|d| {
                            d.iter()
                                .filter(|(k, _)| MATCH_KEYS.contains(&k.as_str()))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        };
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_vec(&head).unwrap_or_default()
    }
}

/// An `affected[]` entry as [`RecordHead`] reads it.
#[derive(Deserialize)]
struct AffectedHead {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default, deserialize_with = "null_as_default")]
    ranges: Vec<Range>,
    #[serde(default, deserialize_with = "null_as_default")]
    versions: Vec<String>,
    #[serde(default, deserialize_with = "match_keys")]
    database_specific: Option<Value>,
}

fn affected_heads<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Affected>, D::Error> {
    let heads: Vec<AffectedHead> = null_as_default(deserializer)?;
    Ok(heads
        .into_iter()
        .map(|h| Affected {
            package: h.package,
            severity: Vec::new(),
            ranges: h.ranges,
            versions: h.versions,
            ecosystem_specific: None,
            database_specific: h.database_specific,
        })
        .collect())
}

/// One advisory in OSV 1.7 form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    pub id: String,
    /// RFC 3339 timestamp, kept as written.
    #[serde(default)]
    pub modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<Credit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Record {
    /// The record's id followed by its aliases: every name a lookup may use for it.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A severity score: `CVSS_V2`, `CVSS_V3`, `CVSS_V4` vectors or `Ubuntu` labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// One `affected[]` entry: a package and the versions of it the advisory covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// The affected package: ecosystem, name as the ecosystem writes it, optional purl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: EcosystemName,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// An ecosystem as a feed wrote it, plus its parsed form when ward knows the ecosystem.
///
/// Serializes as the original text, so records round-trip unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcosystemName {
    text: String,
    parsed: Option<Ecosystem>,
}

impl EcosystemName {
    pub fn new(text: &str) -> EcosystemName {
        EcosystemName { text: text.to_string(), parsed: Ecosystem::parse(text).ok() }
    }

    pub fn from_ecosystem(ecosystem: Ecosystem) -> EcosystemName {
        EcosystemName { text: ecosystem.to_string(), parsed: Some(ecosystem) }
    }

    /// The text as the feed wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed ecosystem, `None` for ecosystems ward does not know.
    pub fn parsed(&self) -> Option<&Ecosystem> {
        self.parsed.as_ref()
    }

    /// The ecosystem without its release (`Alpine:v3.19` → `Alpine`), in OSV spelling when
    /// known, otherwise the text before `:`.
    pub fn base(&self) -> &str {
        match &self.parsed {
            Some(e) => e.kind().name(),
            None => self.text.split(':').next().unwrap_or(&self.text),
        }
    }
}

impl fmt::Display for EcosystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for EcosystemName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for EcosystemName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(EcosystemName::new(&text))
    }
}

/// One OSV range: its type, the repository for GIT ranges, and the events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<RangeEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Range {
    /// The range in ward-version's evaluable form; `None` for range types OSV does not define.
    pub fn to_osv_range(&self) -> Option<OsvRange> {
        let kind = match self.kind.as_str() {
            "SEMVER" => RangeKind::Semver,
            "ECOSYSTEM" => RangeKind::Ecosystem,
            "GIT" => RangeKind::Git,
            _ => return None,
        };
        let events = self.events.iter().map(RangeEvent::to_event).collect();
        Some(OsvRange { kind, events })
    }
}

/// One range event, written in OSV as a one-key object (`{"fixed": "1.2.3"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "RawEvent")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl RangeEvent {
    pub fn to_event(&self) -> Event {
        match self {
            RangeEvent::Introduced(v) => Event::Introduced(v.clone()),
            RangeEvent::Fixed(v) => Event::Fixed(v.clone()),
            RangeEvent::LastAffected(v) => Event::LastAffected(v.clone()),
            RangeEvent::Limit(v) => Event::Limit(v.clone()),
        }
    }

    pub fn version(&self) -> &str {
        match self {
            RangeEvent::Introduced(v)
            | RangeEvent::Fixed(v)
            | RangeEvent::LastAffected(v)
            | RangeEvent::Limit(v) => v,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            RangeEvent::Introduced(_) => "introduced",
            RangeEvent::Fixed(_) => "fixed",
            RangeEvent::LastAffected(_) => "last_affected",
            RangeEvent::Limit(_) => "limit",
        }
    }
}

/// The event object as written; exactly one key must be present.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
    limit: Option<String>,
}

impl TryFrom<RawEvent> for RangeEvent {
    type Error = &'static str;

    fn try_from(raw: RawEvent) -> Result<Self, Self::Error> {
        match (raw.introduced, raw.fixed, raw.last_affected, raw.limit) {
            (Some(v), None, None, None) => Ok(RangeEvent::Introduced(v)),
            (None, Some(v), None, None) => Ok(RangeEvent::Fixed(v)),
            (None, None, Some(v), None) => Ok(RangeEvent::LastAffected(v)),
            (None, None, None, Some(v)) => Ok(RangeEvent::Limit(v)),
            (None, None, None, None) => {
                Err("an event needs one of introduced, fixed, last_affected, limit")
            }
            _ => Err("an event has exactly one of introduced, fixed, last_affected, limit"),
        }
    }
}

/// A reference: its type (`ADVISORY`, `FIX`, `WEB`, ...) and URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// A credit: who found, reported or fixed the issue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Reads `null` (YAML's empty `aliases:`) as the empty list.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
