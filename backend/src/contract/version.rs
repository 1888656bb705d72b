//! A contract's semantic version, `info.version`: raised by a bump, compared, and
//! written back into the text where it stands, the rest of the text as it was (its
//! quotes, comments and layout are the team's).

use std::cmp::Ordering;

use charter_types::Bump;

use super::source::Spot;
use super::{Contract, Place};

/// `version` raised by `bump` (`1.4.2` and MINOR make `1.5.0`); `None` when it is not a
/// semantic version.
pub fn bumped(version: &str, bump: Bump) -> Option<String> {
    let version = semver::Version::parse(version.trim()).ok()?;
    let (major, minor, patch) = match bump {
        Bump::Major => (version.major + 1, 0, 0),
        Bump::Minor => (version.major, version.minor + 1, 0),
        Bump::Patch => (version.major, version.minor, version.patch + 1),
    };
    Some(semver::Version::new(major, minor, patch).to_string())
}

/// How two semantic versions compare; `None` when either is not one.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(semver::Version::parse(a.trim()).ok()?.cmp(&semver::Version::parse(b.trim()).ok()?))
}

/// The contract's text with `info.version` made `version`, or `None` when the text has
/// no `info.version` written as a plain or quoted scalar (a block scalar, say).
pub fn stamp(text: &str, version: &str) -> Option<String> {
    let contract = Contract::read(text);
    let readable = contract.readable()?;
    let old = readable.version()?;
    let spot: &Spot = readable.source.spots.child("info")?.child("version")?;
    let start = byte_offset(text, spot.at)?;
    let rest = &text[start..];
    // A semantic version needs no escaping in any of the three styles, so the value is
    // written exactly as read, inside its quotes if it has them.
    let (written, quote) = [("", ""), ("\"", "\""), ("'", "'")]
        .into_iter()
        .map(|(open, close)| (format!("{open}{old}{close}"), open))
        .find(|(written, _)| rest.starts_with(written.as_str()))?;
    // A plain YAML scalar ends at a line end, a comment, or (in flow style) `,` `}` `]`.
    let ends = rest[written.len()..].chars().next().is_none_or(|c| c.is_whitespace() || ",}]#".contains(c));
    if quote.is_empty() && !ends {
        return None;
    }
    let replacement = format!("{quote}{version}{quote}");
    Some(format!("{}{replacement}{}", &text[..start], &rest[written.len()..]))
}

/// The byte offset of a place (a line, and a column counted in UTF-16 units).
fn byte_offset(text: &str, place: Place) -> Option<usize> {
    let line_start = match place.line {
        1 => 0,
        line => text.match_indices('\n').nth(line - 2)?.0 + 1,
    };
    let mut units = 1;
    for (offset, c) in text[line_start..].char_indices() {
        if units >= place.column {
            return Some(line_start + offset);
        }
        if c == '\n' {
            return None;
        }
        units += c.len_utf16();
    }
    (units == place.column).then_some(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_raised_by_their_bump() {
        assert_eq!(bumped("1.4.2", Bump::Minor).as_deref(), Some("1.5.0"));
        assert_eq!(bumped("1.4.2", Bump::Patch).as_deref(), Some("1.4.3"));
        assert_eq!(bumped("1.4.2-rc.1", Bump::Major).as_deref(), Some("2.0.0"));
        assert_eq!(bumped("v1", Bump::Patch), None);
        assert_eq!(compare("1.10.0", "1.9.0"), Some(Ordering::Greater));
        assert_eq!(compare("1.0.0", "one"), None);
    }

    #[test]
    fn the_stamp_changes_the_version_and_nothing_else() {
        let yaml = "openapi: 3.1.0\ninfo:\n  title: Shop   # the shop\n  version: 1.4.2 # keep me\npaths: {}\n";
        assert_eq!(stamp(yaml, "2.0.0").unwrap(), yaml.replace("1.4.2 #", "2.0.0 #"));
        let quoted = "openapi: 3.1.0\ninfo: {title: Ünïcödé 🛒, version: '1.4.2'}\npaths: {}\n";
        assert_eq!(stamp(quoted, "1.5.0").unwrap(), quoted.replace("'1.4.2'", "'1.5.0'"));
        let json = "{\n  \"openapi\": \"3.0.3\",\n  \"info\": {\"title\": \"🛒\", \"version\": \"1.4.2\"},\n  \"paths\": {}\n}";
        assert_eq!(stamp(json, "1.4.3").unwrap(), json.replace("\"1.4.2\"", "\"1.4.3\""));
        let flow = "openapi: 3.1.0\ninfo: {version: 1.4.2, title: Shop}\npaths: {}\n";
        assert_eq!(stamp(flow, "2.0.0").unwrap(), flow.replace("1.4.2", "2.0.0"));
        let at_end = "openapi: 3.1.0\npaths: {}\ninfo:\n  title: Shop\n  version: 1.4.2";
        assert_eq!(stamp(at_end, "2.0.0").unwrap(), at_end.replace("1.4.2", "2.0.0"));
    }

    #[test]
    fn a_version_that_cannot_be_rewritten_in_place_is_left_alone() {
        let block = "openapi: 3.1.0\ninfo:\n  title: Shop\n  version: >-\n    1.4.2\npaths: {}\n";
        assert_eq!(
            stamp(block, "2.0.0").unwrap(),
            block.replace("1.4.2", "2.0.0"),
            "a block scalar's text is in place"
        );
        let alias = "openapi: 3.1.0\nx-v: &v 1.4.2\ninfo:\n  title: Shop\n  version: *v\npaths: {}\n";
        assert_eq!(stamp(alias, "2.0.0"), None, "an alias is not the version's own text");
        assert_eq!(stamp("openapi: 3.1.0\ninfo: {title: Shop}\npaths: {}\n", "2.0.0"), None);
        assert_eq!(stamp("openapi: [", "2.0.0"), None);
    }
}
