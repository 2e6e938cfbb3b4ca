//! Gradle's dependency verification file (`gradle/verification-metadata.xml`): every
//! `<component group= name= version=>` Gradle verified, as Maven packages.

use roxmltree::Document;
use ward_version::EcosystemKind;

use crate::lines::{self, Lines};
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let doc = match Document::parse(&text) {
        Ok(doc) => doc,
        Err(e) => return Parsed::failed(path, Some(e.pos().row), format!("not valid XML: {e}")),
    };
    let index = Lines::new(&text);
    let mut out = Parsed::default();
    if doc.root_element().tag_name().name() != "verification-metadata" {
        out.error(path, Some(1), "not a Gradle verification-metadata.xml: the root element is not <verification-metadata>");
        return out;
    }
    for c in doc.descendants().filter(|n| n.is_element() && n.tag_name().name() == "component") {
        let line = Some(index.line_of(c.range().start));
        match (c.attribute("group"), c.attribute("name"), c.attribute("version")) {
            (Some(g), Some(n), Some(v)) => out.packages.push(Package::new(
                EcosystemKind::Maven,
                format!("{g}:{n}"),
                v,
                super::at(path, line),
            )),
            _ => out.error(path, line, "a <component> without group, name or version"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_components() {
        let got = parse("verification-metadata.xml", b"<verification-metadata><components>\n<component group=\"g\" name=\"a\" version=\"1\"/>\n<component name=\"b\"/></components></verification-metadata>");
        assert_eq!(got.packages.len(), 1);
        assert_eq!(got.packages[0].location.line, Some(2));
        assert_eq!(got.errors.len(), 1);
    }
}
