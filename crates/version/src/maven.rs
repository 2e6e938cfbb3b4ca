//! Maven versions, ordered as Maven 3.8's `ComparableVersion` orders them (also used for
//! Gradle and other Maven-repository ecosystems).
//!
//! The version is split into items at `.`, `-` and digit/letter transitions; `-` (and a
//! transition, and `.` before a qualifier) opens a nested list. Qualifiers order
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < others`
//! (others alphabetically); `a1`, `b1`, `m1` mean alpha/beta/milestone when a digit follows.
//! Trailing "null" items (0, empty qualifier, empty list) are dropped, so `1.0.0 = 1`.

use std::cmp::Ordering;

use crate::num::Num;
use crate::VersionError;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Int(Num),
    /// A qualifier: its rank among the known ones (7 for unknown) and its lower-case text.
    Str(u8, Box<str>),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_RANK: u8 = 5;

fn qualifier(text: &str, followed_by_digit: bool) -> Item {
    let text = match text {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        t => t,
    };
    let rank = QUALIFIERS.iter().position(|q| *q == text).map_or(7, |i| i as u8);
    Item::Str(rank, text.into())
}

fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        Item::Int(Num::from_digits(text))
    } else {
        qualifier(text, false)
    }
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n.is_zero(),
            Item::Str(rank, _) => *rank == RELEASE_RANK,
            Item::List(items) => items.is_empty(),
        }
    }

    /// `ComparableVersion`'s `Item.compareTo`, where `None` is Java's `null` (padding).
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(n), None) => {
                if n.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.cmp(b),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(rank, _), None) => rank.cmp(&RELEASE_RANK),
            (Item::Str(..), Some(Item::Int(_) | Item::List(_))) => Ordering::Less,
            (Item::Str(ra, a), Some(Item::Str(rb, b))) => {
                ra.cmp(rb).then_with(|| if *ra == 7 { a.cmp(b) } else { Ordering::Equal })
            }
            (Item::List(items), None) => items.first().map_or(Ordering::Equal, |f| f.compare(None)),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(..))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let result = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.compare(None).reverse(),
            (Some(l), r) => l.compare(r),
        };
        if result != Ordering::Equal {
            return result;
        }
    }
    Ordering::Equal
}

/// A parsed Maven version.
#[derive(Clone)]
pub struct MavenVersion {
    text: Box<str>,
    items: Vec<Item>,
}

enum Node {
    Item(Item),
    List(usize),
}

impl MavenVersion {
    pub fn parse(input: &str) -> Result<MavenVersion, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(VersionError::invalid(input, "version string has embedded spaces"));
        }
        let version = text.to_lowercase();
        // Lists in creation order; the parent of a list is always created before it.
        let mut lists: Vec<Vec<Node>> = vec![Vec::new()];
        let mut cur = 0;
        let open = |lists: &mut Vec<Vec<Node>>, cur: &mut usize| {
            lists.push(Vec::new());
            let new = lists.len() - 1;
            lists[*cur].push(Node::List(new));
            *cur = new;
        };
        let mut is_digit = false;
        let mut start = 0;
        for (i, c) in version.char_indices() {
            match c {
                '.' | '-' => {
                    let item = if i == start {
                        Item::Int(Num::ZERO)
                    } else {
                        parse_item(is_digit, &version[start..i])
                    };
                    lists[cur].push(Node::Item(item));
                    start = i + 1;
                    if c == '-' {
                        open(&mut lists, &mut cur);
                    }
                }
                c if c.is_ascii_digit() => {
                    if !is_digit && i > start {
                        // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any string qualifier X.
                        if !lists[cur].is_empty() {
                            open(&mut lists, &mut cur);
                        }
                        lists[cur].push(Node::Item(qualifier(&version[start..i], true)));
                        start = i;
                        open(&mut lists, &mut cur);
                    }
                    is_digit = true;
                }
                _ => {
                    if is_digit && i > start {
                        lists[cur].push(Node::Item(parse_item(true, &version[start..i])));
                        start = i;
                        open(&mut lists, &mut cur);
                    }
                    is_digit = false;
                }
            }
        }
        if version.len() > start {
            if !is_digit && !lists[cur].is_empty() {
                open(&mut lists, &mut cur);
            }
            lists[cur].push(Node::Item(parse_item(is_digit, &version[start..])));
        }
        // Normalize innermost first (reverse creation order), building owned lists.
        let mut built: Vec<Option<Vec<Item>>> = (0..lists.len()).map(|_| None).collect();
        for idx in (0..lists.len()).rev() {
            let mut items: Vec<Item> = std::mem::take(&mut lists[idx])
                .into_iter()
                .map(|node| match node {
                    Node::Item(item) => item,
                    Node::List(child) => Item::List(built[child].take().unwrap_or_default()),
                })
                .collect();
            let mut i = items.len();
            while i > 0 {
                i -= 1;
                if items[i].is_null() {
                    items.remove(i);
                } else if !matches!(items[i], Item::List(_)) {
                    break;
                }
            }
            built[idx] = Some(items);
        }
        let items = built[0].take().unwrap_or_default();
        Ok(MavenVersion { text: text.into(), items })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maven's canonical form (`1.0-alpha-1` for `1.0a1`), as `ComparableVersion` prints it.
    pub fn canonical(&self) -> String {
        fn write(items: &[Item], out: &mut String) {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(if matches!(item, Item::List(_)) { '-' } else { '.' });
                }
                match item {
                    Item::Int(n) => out.push_str(&n.to_string()),
                    Item::Str(_, s) => out.push_str(s),
                    Item::List(inner) => write(inner, out),
                }
            }
        }
        let mut out = String::new();
        write(&self.items, &mut out);
        out
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

version_traits!(MavenVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, canonical: &str) {
        assert_eq!(MavenVersion::parse(input).unwrap().canonical(), canonical, "{input}");
    }

    #[test]
    fn canonical_forms_match_maven() {
        // Taken from `java -cp maven-artifact-3.8.7.jar ...ComparableVersion`.
        check("1release", "1");
        check("2.0.a", "2-a");
        check("11.a2", "11-alpha-2");
        check("1-x1", "1-x-1");
        check("1.0.0.x1", "1-x-1");
    }

    #[test]
    fn qualifier_order() {
        let v = |s: &str| MavenVersion::parse(s).unwrap();
        assert!(v("1-alpha-1") < v("1-beta-1"));
        assert!(v("1-SNAPSHOT") < v("1"));
        assert!(v("1") < v("1-sp"));
        assert!(v("1-sp") < v("1-abc"));
        assert_eq!(v("1cr"), v("1rc"));
    }
}
