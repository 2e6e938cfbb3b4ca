//! [`IndexAdvisories`]: the [`Advisories`] every ward command and the server match against —
//! the local advisory index (`ward db`), plus records read for one scan only (a host's apt
//! security lists), keyed like the index.

use std::collections::BTreeMap;
use std::sync::Arc;

use ward_advisory::model::Record;
use ward_advisory::store::{Index, StoreError};
use ward_version::Ecosystem;

use crate::{Advisories, Epss, Kev};

/// The index (if any) and extra records, looked up together.
#[derive(Debug, Default)]
pub struct IndexAdvisories {
    pub index: Option<Index>,
    extra: BTreeMap<(String, Option<String>, String), Vec<Arc<Record>>>,
}

impl IndexAdvisories {
    /// Over `index` only.
    pub fn new(index: Option<Index>) -> IndexAdvisories {
        IndexAdvisories { index, extra: BTreeMap::new() }
    }

    /// Whether extra records were added.
    pub fn has_extra(&self) -> bool {
        !self.extra.is_empty()
    }

    /// Adds records (e.g. the host's pending security updates) for this lookup source only.
    pub fn add_extra(&mut self, records: Vec<Record>) {
        for record in records {
            let record = Arc::new(record);
            let mut keys = Vec::new();
            for a in &record.affected {
                if let Some(p) = &a.package {
                    let base = p.ecosystem.base().to_string();
                    let release =
                        p.ecosystem.parsed().and_then(|e| e.release()).map(str::to_string);
                    let name = ward_advisory::name::normalize(&base, &p.name);
                    keys.push((base, release, name));
                }
            }
            keys.sort();
            keys.dedup();
            for key in keys {
                self.extra.entry(key).or_default().push(Arc::clone(&record));
            }
        }
    }
}

impl IndexAdvisories {
    /// The extra records keyed under (ecosystem, name).
    fn extra_for(&self, ecosystem: &str, name: &str) -> Vec<Arc<Record>> {
        let Ok(e) = Ecosystem::parse(ecosystem) else { return Vec::new() };
        let base = e.kind().name().to_string();
        let key = (
            base.clone(),
            e.release().map(str::to_string),
            ward_advisory::name::normalize(&base, name),
        );
        self.extra.get(&key).cloned().unwrap_or_default()
    }
}

impl Advisories for IndexAdvisories {
    type Error = StoreError;

    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, StoreError> {
        let mut out: Vec<Arc<Record>> = match &self.index {
            Some(index) => index.lookup(ecosystem, name)?,
            None => Vec::new(),
        };
        if self.has_extra() {
            out.extend(self.extra_for(ecosystem, name));
        }
        Ok(out)
    }

    fn affecting_where(
        &self,
        ecosystem: &str,
        name: &str,
        may_match: &mut dyn FnMut(&ward_advisory::model::RecordHead) -> bool,
    ) -> Result<Vec<Arc<Record>>, StoreError> {
        let mut out: Vec<Arc<Record>> = match &self.index {
            Some(index) => index.lookup_where(ecosystem, name, may_match)?,
            None => Vec::new(),
        };
        if self.has_extra() {
            out.extend(self.extra_for(ecosystem, name));
        }
        Ok(out)
    }

    fn kev(&self, cve: &str) -> Result<Option<Kev>, StoreError> {
        let Some(index) = &self.index else { return Ok(None) };
        Ok(index.kev(cve)?.map(|k| Kev {
            cve: k.cve_id,
            date_added: k.date_added,
            due_date: Some(k.due_date).filter(|d| !d.is_empty()),
            known_ransomware: k.known_ransomware_campaign_use.eq_ignore_ascii_case("known"),
        }))
    }

    fn epss(&self, cve: &str) -> Result<Option<Epss>, StoreError> {
        let Some(index) = &self.index else { return Ok(None) };
        Ok(index.epss(cve)?.map(|e| Epss { cve: e.cve, score: e.epss, percentile: e.percentile }))
    }
}
