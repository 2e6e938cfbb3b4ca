//! Maven's `pom.xml`: the project's `dependencies` and `dependencyManagement`, with
//! `${property}` references resolved from the file's `properties`, the project's own
//! coordinates and its in-file `parent` (`${project.version}`, `${project.parent.version}`).
//! A version range (`[1.0,2.0)`) pins nothing: the package gets no version and the range as its
//! requirement. Parents in other files are not read (no IO here).

use std::collections::BTreeMap;

use roxmltree::{Document, Node};
use ward_version::EcosystemKind;

use crate::lines::{self, Lines};
use crate::{Package, Parsed};

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(|c| c.text()).map(|t| t.trim().to_string())
}

/// Replaces `${name}` references, repeatedly (properties may refer to properties), up to a
/// small depth so cycles end.
fn interpolate(text: &str, properties: &BTreeMap<String, String>) -> Result<String, String> {
    let mut value = text.to_string();
    for _ in 0..10 {
        let Some(start) = value.find("${") else { return Ok(value) };
        let Some(len) = value[start..].find('}') else { return Ok(value) };
        let key = &value[start + 2..start + len];
        let Some(replacement) = properties.get(key) else {
            return Err(format!("unknown property ${{{key}}}"));
        };
        value = format!("{}{}{}", &value[..start], replacement, &value[start + len + 1..]);
    }
    Err(format!("property references nest too deeply in {text:?}"))
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let doc = match Document::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let line = Some(e.pos().row);
            return Parsed::failed(path, line, format!("not valid XML: {e}"));
        }
    };
    let index = Lines::new(&text);
    let mut out = Parsed::default();
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        out.error(
            path,
            Some(1),
            format!("not a pom.xml: the root element is <{}>", project.tag_name().name()),
        );
        return out;
    }
    let mut properties = BTreeMap::new();
    if let Some(props) = child(project, "properties") {
        for p in props.children().filter(Node::is_element) {
            properties
                .insert(p.tag_name().name().to_string(), p.text().unwrap_or("").trim().to_string());
        }
    }
    let parent = child(project, "parent");
    for (key, value) in [
        ("project.parent.groupId", parent.and_then(|p| child_text(p, "groupId"))),
        ("project.parent.version", parent.and_then(|p| child_text(p, "version"))),
        (
            "project.groupId",
            child_text(project, "groupId")
                .or_else(|| parent.and_then(|p| child_text(p, "groupId"))),
        ),
        ("project.artifactId", child_text(project, "artifactId")),
        (
            "project.version",
            child_text(project, "version")
                .or_else(|| parent.and_then(|p| child_text(p, "version"))),
        ),
    ] {
        if let Some(v) = value {
            properties.insert(key.to_string(), v.clone());
            if let Some(short) = key.strip_prefix("project.") {
                properties.entry(format!("pom.{short}")).or_insert(v);
            }
        }
    }
    let mut managed: Vec<(Node<'_, '_>, bool)> = Vec::new();
    if let Some(deps) = child(project, "dependencies") {
        managed.extend(
            deps.children()
                .filter(|d| d.is_element() && d.tag_name().name() == "dependency")
                .map(|d| (d, false)),
        );
    }
    if let Some(deps) =
        child(project, "dependencyManagement").and_then(|m| child(m, "dependencies"))
    {
        managed.extend(
            deps.children()
                .filter(|d| d.is_element() && d.tag_name().name() == "dependency")
                .map(|d| (d, true)),
        );
    }
    let management_versions: BTreeMap<String, String> = managed
        .iter()
        .filter(|(_, m)| *m)
        .filter_map(|(d, _)| {
            Some((
                format!("{}:{}", child_text(*d, "groupId")?, child_text(*d, "artifactId")?),
                child_text(*d, "version")?,
            ))
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for (dep, _) in managed {
        let line = Some(index.line_of(dep.range().start));
        let resolve = |field: &str, out: &mut Parsed| -> Option<String> {
            let raw = child_text(dep, field)?;
            match interpolate(&raw, &properties) {
                Ok(v) => Some(v),
                Err(e) => {
                    out.error(path, line, format!("{field}: {e}"));
                    None
                }
            }
        };
        let (Some(group), Some(artifact)) =
            (resolve("groupId", &mut out), resolve("artifactId", &mut out))
        else {
            continue;
        };
        let name = format!("{group}:{artifact}");
        let raw_version = match resolve("version", &mut out) {
            Some(v) => v,
            None => match management_versions.get(&name).map(|v| interpolate(v, &properties)) {
                Some(Ok(v)) => v,
                _ => String::new(),
            },
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let mut p = Package::new(EcosystemKind::Maven, name, "", super::at(path, line));
        if raw_version.starts_with(['[', '(']) {
            p.requirement = Some(raw_version);
        } else if raw_version.is_empty() {
            p.requirement = Some(String::new());
        } else {
            p.version = raw_version;
        }
        match child_text(dep, "scope").as_deref() {
            Some("test") => {
                p.dev = true;
                p.add_group("test");
            }
            Some(scope @ ("provided" | "system" | "import")) => p.add_group(scope),
            _ => {}
        }
        p.optional = child_text(dep, "optional").as_deref() == Some("true");
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_properties_parent_and_management() {
        let got = parse(
            "pom.xml",
            br#"<project><parent><groupId>g</groupId><version>7</version></parent>
            <properties><v>1.0</v><w>${v}.1</w></properties>
            <dependencies>
              <dependency><groupId>a</groupId><artifactId>b</artifactId><version>${w}</version></dependency>
              <dependency><groupId>${project.groupId}</groupId><artifactId>c</artifactId><version>${project.version}</version><scope>test</scope></dependency>
              <dependency><groupId>m</groupId><artifactId>n</artifactId></dependency>
              <dependency><groupId>x</groupId><artifactId>y</artifactId><version>${nope}</version></dependency>
            </dependencies>
            <dependencyManagement><dependencies>
              <dependency><groupId>m</groupId><artifactId>n</artifactId><version>[2.0,3)</version></dependency>
            </dependencies></dependencyManagement></project>"#,
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.requirement.as_deref(), p.dev))
            .collect();
        assert_eq!(
            summary,
            [
                ("a:b", "1.0.1", None, false),
                ("g:c", "7", None, true),
                ("m:n", "", Some("[2.0,3)"), false),
                ("x:y", "", Some(""), false)
            ]
        );
        assert_eq!(got.errors.len(), 1);
        assert_eq!(parse("p", b"<project>").errors.len(), 1);
    }
}
