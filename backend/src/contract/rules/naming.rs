//! `naming-style`: property names in one style across the project's contracts.

use serde_json::Value;

use super::{Problem, NAMING_STYLE};
use crate::contract::{walk, Readable};

/// How property names are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Style {
    Camel,
    Snake,
    Kebab,
    Pascal,
}

impl Style {
    pub const ALL: [Style; 4] = [Style::Camel, Style::Snake, Style::Kebab, Style::Pascal];

    pub fn name(self) -> &'static str {
        match self {
            Style::Camel => "camelCase",
            Style::Snake => "snake_case",
            Style::Kebab => "kebab-case",
            Style::Pascal => "PascalCase",
        }
    }

    /// The style a constitution names (`property-names: snake_case`).
    pub fn parse(text: &str) -> Option<Style> {
        Style::ALL.into_iter().find(|style| style.name().eq_ignore_ascii_case(text.trim()))
    }

    /// Whether a name is written in this style; one lowercase word fits every style
    /// but PascalCase.
    pub fn fits(self, name: &str) -> bool {
        let mut chars = name.chars();
        let Some(first) = chars.next() else { return true };
        let rest = chars.as_str();
        let alnum = |c: char| c.is_ascii_alphanumeric();
        match self {
            Style::Camel => first.is_ascii_lowercase() && rest.chars().all(alnum),
            Style::Pascal => first.is_ascii_uppercase() && rest.chars().all(alnum),
            Style::Snake => name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            Style::Kebab => name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        }
    }

    /// The one style a name shows, if it shows only one.
    fn of(name: &str) -> Option<Style> {
        let mut fitting = Style::ALL.into_iter().filter(|style| style.fits(name));
        match (fitting.next(), fitting.next()) {
            (Some(style), None) => Some(style),
            _ => None,
        }
    }
}

/// Every property name a contract's schemas declare (the keys of each `properties`),
/// with its path; examples and extensions are data, not declarations.
pub fn property_names(readable: &Readable) -> Vec<(Vec<String>, &str)> {
    let mut found = Vec::new();
    walk::each(&readable.source.value, &mut |path, value| {
        if let Some(properties) = value.get("properties").and_then(Value::as_object) {
            for name in properties.keys() {
                let mut named = path.to_vec();
                named.extend(["properties".to_owned(), name.clone()]);
                found.push((named, name.as_str()));
            }
        }
        true
    });
    found
}

/// The style most property names of these contracts show (`None` when none shows one).
pub fn majority<'a>(contracts: impl IntoIterator<Item = &'a Readable>) -> Option<Style> {
    let mut counts = [0usize; 4];
    for readable in contracts {
        for (_, name) in property_names(readable) {
            if let Some(style) = Style::of(name) {
                counts[Style::ALL.iter().position(|s| *s == style).expect("one of ALL")] += 1;
            }
        }
    }
    let (index, count) = counts.iter().enumerate().max_by_key(|(index, count)| (**count, std::cmp::Reverse(*index)))?;
    (*count > 0).then(|| Style::ALL[index])
}

pub(super) fn breaches(readable: &Readable, style: Option<Style>) -> Vec<Problem> {
    let Some(style) = style else { return Vec::new() };
    property_names(readable)
        .into_iter()
        .filter(|(_, name)| !style.fits(name))
        .map(|(path, name)| Problem {
            rule: NAMING_STYLE,
            place: readable.source.spots.place(path.iter().map(String::as_str)),
            message: format!("`{name}` is not {}, as the project's property names are", style.name()),
        })
        .collect()
}
