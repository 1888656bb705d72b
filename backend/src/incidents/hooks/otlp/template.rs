//! Message templates: a log message with its variable parts replaced by placeholders, so
//! that the same failure with other ids, numbers or addresses reads as one. A hand-written
//! scanner rather than regexes, as the text comes from whoever holds a token.

use crate::incidents::signal::cut;

/// Only this much of a message is templated, so a huge one costs no more than this.
const MAX_TEMPLATE_INPUT: usize = 2_000;

/// The message with its variable parts replaced: URLs, quoted strings, emails, UUIDs, hex
/// ids and numbers. One left-to-right pass over at most `MAX_TEMPLATE_INPUT` characters
/// (a quote with no closing one is remembered, so it is never searched for twice).
pub(super) fn template(text: &str) -> String {
    let chars: Vec<char> = cut(text, MAX_TEMPLATE_INPUT).chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut unclosed = [false; 3];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            out.push(' ');
        } else if let Some(end) = closing_quote(&chars, i, &mut unclosed) {
            out.extend([c, '<', 's', 't', 'r', '>', c]);
            i = end + 1;
        } else if is_word(c) && starts_url(&chars[i..]) {
            while i < chars.len() && !(chars[i].is_whitespace() || matches!(chars[i], '"' | '\'' | '`' | '<' | '>')) {
                i += 1;
            }
            out.push_str("<url>");
        } else if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            word(&mut out, &chars[start..i]);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.trim().to_owned()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | '+')
}

fn starts_url(chars: &[char]) -> bool {
    let lower = |prefix: &str| {
        chars.len() > prefix.len() && prefix.chars().zip(chars).all(|(p, c)| c.to_ascii_lowercase() == p)
    };
    lower("http://") || lower("https://")
}

/// Where the quote opening at `i` closes. An apostrophe inside a word (`can't`) opens
/// nothing, and closes only before a non-word character.
fn closing_quote(chars: &[char], i: usize, unclosed: &mut [bool; 3]) -> Option<usize> {
    let quote = chars[i];
    let kind = ['"', '\'', '`'].iter().position(|q| *q == quote)?;
    if unclosed[kind] || (quote == '\'' && i > 0 && chars[i - 1].is_alphanumeric()) {
        return None;
    }
    let closes =
        |j: usize| chars[j] == quote && (quote != '\'' || chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric()));
    let end = (i + 1..chars.len()).find(|&j| closes(j));
    unclosed[kind] = end.is_none();
    end
}

/// One word, replaced whole when it is an email, UUID or hex id, else its numbers.
fn word(out: &mut String, chars: &[char]) {
    // Sentence punctuation after a word is not part of it.
    let end = chars.iter().rposition(|c| c.is_alphanumeric()).map_or(0, |last| last + 1);
    let (core, trailer) = chars.split_at(end);
    let text: String = core.iter().collect();
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    let is_email = text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && domain.chars().next().is_some_and(char::is_alphanumeric)
    });
    let is_uuid =
        text.len() == 36 && text.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && text.split('-').all(|part| hex(part));
    let is_hex = (text.len() >= 8
        && hex(&text)
        && text.chars().any(|c| c.is_ascii_digit())
        && text.chars().any(|c| c.is_ascii_alphabetic()))
        || text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).is_some_and(hex);
    if is_email {
        out.push_str("<email>");
    } else if is_uuid {
        out.push_str("<uuid>");
    } else if is_hex {
        out.push_str("<hex>");
    } else {
        numbers(out, core);
    }
    out.extend(trailer);
}

/// Copies `chars` with each number (digits, optionally a decimal part) as `<num>`.
fn numbers(out: &mut String, chars: &[char]) {
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        out.push_str("<num>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_replace_variable_parts() {
        let cases = [
            ("user 42 logged in from 10.0.0.7", "user <num> logged in from <num>.<num>"),
            ("  spaced\t\nout  ", "spaced out"),
            ("GET https://api.example.com/v1/orders?id=7 returned 502", "GET <url> returned <num>"),
            ("mail to jane.doe+ops@example.co.uk bounced.", "mail to <email> bounced."),
            ("request 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b aborted", "request <uuid> aborted"),
            ("trace 5b8efff798038103d269b633813fc60c at 0xDEADBEEF", "trace <hex> at <hex>"),
            ("can't open 'config.yaml' (retry 3)", "can't open '<str>' (retry <num>)"),
            ("value `x` and \"y z\"", "value `<str>` and \"<str>\""),
            ("unclosed \"quote 12 and 'another", "unclosed \"quote <num> and 'another"),
            ("latency 7.25ms on shard-12", "latency <num>ms on shard-<num>"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(template(input), expected, "{input:?}");
        }
    }

    #[test]
    fn templating_is_bounded_and_linear() {
        // Only the first MAX_TEMPLATE_INPUT characters are read: 1,000 empty quotes.
        assert_eq!(template(&"'".repeat(100_000)), "'<str>'".repeat(MAX_TEMPLATE_INPUT / 2));
        let opens = " '".repeat(50_000) + &"\"a".repeat(50_000);
        assert!(template(&opens).len() <= 2 * MAX_TEMPLATE_INPUT);
        let digits = "1 ".repeat(5_000);
        assert_eq!(template(&digits), vec!["<num>"; MAX_TEMPLATE_INPUT / 2].join(" "));
    }
}
