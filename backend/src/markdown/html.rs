//! Bounds the HTML handed to the sanitizer. Its parser (html5ever) walks the open
//! elements at most tags, moves misplaced table content one sibling scan at a time and
//! reopens unclosed formatting in every later paragraph; its serializer rescans the rest
//! of a text run at every `&` or U+0080–U+00BF in it. Raw HTML could make each of these
//! as large as the document, so one pass here keeps them small:
//!
//! - every element is closed explicitly and stray end tags are dropped, so the parser's
//!   open elements are (within a constant) the ones counted here;
//! - start tags beyond [`MAX_OPEN`] open elements, or [`MAX_FORMATTING`] open formatting
//!   elements, are shown as text;
//! - after [`MAX_FOSTERED`] misplaced pieces of table content, a table is closed before
//!   the next one, so it lands after the table rather than being moved before it;
//! - text runs longer than [`MAX_TEXT_RUN`] are cut by an empty comment, which the
//!   sanitizer removes, so the output reads the same.
//!
//! Markdown's own HTML is balanced and nests within the event pass's limits, so this
//! only ever changes raw HTML written into a document.

const MAX_OPEN: usize = 256;
const MAX_FORMATTING: usize = 12;
const MAX_FOSTERED: usize = 64;
const MAX_TEXT_RUN: usize = 256;

/// Never cut inside an entity (`&amp;`, `&#x1F600;`): the longest is shorter than this.
const LONGEST_ENTITY: usize = 40;

const CUT: &str = "<!---->";

const VOID: [&str; 19] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "keygen", "basefont", "bgsound", "frame", "image",
];

/// Elements whose content the parser reads as text; the sanitizer removes them with it.
pub(super) static RAW_TEXT: [&str; 10] =
    ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"];

/// Foreign content, parsed by other rules (self-closing tags, CDATA). The sanitizer
/// removes it anyway, so these tags are dropped and what they hold is read as HTML.
const FOREIGN: [&str; 2] = ["svg", "math"];

/// The elements the parser keeps in its list of active formatting elements.
const FORMATTING: [&str; 14] =
    ["a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"];

/// Where the parser moves text and other content before the table instead.
const TABLE_CONTEXT: [&str; 5] = ["table", "thead", "tbody", "tfoot", "tr"];
const STAYS_IN_TABLE: [&str; 14] = [
    "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th", "table", "template", "form", "script",
    "style",
];

pub(super) fn bounded(html: &str) -> String {
    let mut out = Out { html: String::with_capacity(html.len() + html.len() / 16), run: 0 };
    let mut open = Open::default();
    let mut at = 0;
    while at < html.len() {
        let Some(lt) = html[at..].find('<').map(|offset| at + offset) else {
            open.text(&html[at..], &mut out);
            break;
        };
        open.text(&html[at..lt], &mut out);
        let (found, end) = markup(html, lt);
        let source = &html[lt..end];
        at = end;
        match found {
            Markup::Text => open.text(source, &mut out),
            Markup::Comment => out.markup(source),
            Markup::End(name) => open.end(&name, source, &mut out),
            Markup::Start(name) => {
                if open.start(&name, source, &mut out) {
                    // Raw text runs to its end tag, which the tokenizer must see too.
                    let content_end = raw_text_end(html, at, &name);
                    let tag_end = if content_end < html.len() { markup(html, content_end).1 } else { content_end };
                    out.markup(&html[at..tag_end]);
                    at = tag_end;
                }
            }
        }
    }
    open.close_all(&mut out);
    out.html
}

/// The HTML written so far, and how long its current text run is.
struct Out {
    html: String,
    run: usize,
}

impl Out {
    fn markup(&mut self, markup: &str) {
        self.html.push_str(markup);
        self.run = 0;
    }

    fn text(&mut self, mut text: &str) {
        while self.run + text.len() > MAX_TEXT_RUN {
            let cut = safe_cut(text, MAX_TEXT_RUN - self.run);
            self.html.push_str(&text[..cut]);
            self.html.push_str(CUT);
            self.run = 0;
            text = &text[cut..];
        }
        self.html.push_str(text);
        self.run += text.len();
    }

    fn end_tag(&mut self, name: &str) {
        self.markup(&format!("</{name}>"));
    }
}

/// Where to cut `text` near `at`: at the char boundary there, or before the entity
/// (`&amp;`, `&#x1F600;`) that would be cut in two.
fn safe_cut(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    let before = &text.as_bytes()[at.saturating_sub(LONGEST_ENTITY)..at];
    match before.iter().rposition(|b| *b == b'&') {
        Some(amp) if before[amp + 1..].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'#') => {
            at - before.len() + amp
        }
        _ => at,
    }
}

/// The elements open in the HTML written so far.
#[derive(Default)]
struct Open {
    names: Vec<String>,
    formatting: usize,
    fostered: usize,
}

impl Open {
    fn text(&mut self, text: &str, out: &mut Out) {
        if !text.trim_ascii().is_empty() && self.fostering() {
            self.leave_table(out);
        }
        out.text(text);
    }

    /// Counts content the parser would move out of a table to before it; true once
    /// there has been too much of it.
    fn fostering(&mut self) -> bool {
        let fostered = self.names.last().is_some_and(|top| TABLE_CONTEXT.contains(&top.as_str()));
        self.fostered += usize::from(fostered);
        fostered && self.fostered > MAX_FOSTERED
    }

    /// Closes the innermost table and what it holds.
    fn leave_table(&mut self, out: &mut Out) {
        if let Some(table) = self.names.iter().rposition(|name| name == "table") {
            self.close_from(table, out);
        }
    }

    /// Writes a start tag; true when the element's content is raw text.
    fn start(&mut self, name: &str, tag: &str, out: &mut Out) -> bool {
        if FOREIGN.contains(&name) {
            return false;
        }
        let void = VOID.contains(&name);
        let formatting = FORMATTING.contains(&name);
        if !void && (self.names.len() >= MAX_OPEN || (formatting && self.formatting >= MAX_FORMATTING)) {
            self.text(&tag.replace('<', "&lt;"), out);
            return false;
        }
        if !STAYS_IN_TABLE.contains(&name) && self.fostering() {
            self.leave_table(out);
        }
        out.markup(tag);
        if void {
            return false;
        }
        if RAW_TEXT.contains(&name) {
            return true;
        }
        self.names.push(name.to_owned());
        self.formatting += usize::from(formatting);
        false
    }

    /// An end tag closes its element and, explicitly, everything opened inside it; one
    /// that closes nothing is dropped.
    fn end(&mut self, name: &str, tag: &str, out: &mut Out) {
        if VOID.contains(&name) {
            // `</br>` reads as `<br>`; other void end tags are ignored by the parser.
            out.markup(tag);
            return;
        }
        let Some(at) = self.names.iter().rposition(|open| open == name) else { return };
        self.close_from(at + 1, out);
        self.pop();
        out.markup(tag);
    }

    /// Closes the elements from index `from` up, innermost first. A `</p>` the parser
    /// has already implied would make it add an empty paragraph, so none is written.
    fn close_from(&mut self, from: usize, out: &mut Out) {
        while self.names.len() > from {
            if let Some(name) = self.pop() {
                if name != "p" {
                    out.end_tag(&name);
                }
            }
        }
    }

    fn pop(&mut self) -> Option<String> {
        let name = self.names.pop()?;
        self.formatting -= usize::from(FORMATTING.contains(&name.as_str()));
        Some(name)
    }

    fn close_all(&mut self, out: &mut Out) {
        self.close_from(0, out);
    }
}

enum Markup {
    /// A `<` that starts no markup.
    Text,
    /// A comment, doctype or processing instruction (all comments to the parser).
    Comment,
    Start(String),
    End(String),
}

/// What starts at `html[at]` (a `<`), and where it ends, as the HTML tokenizer sees it.
fn markup(html: &str, at: usize) -> (Markup, usize) {
    let bytes = html.as_bytes();
    let up_to_gt = |from: usize| html[from..].find('>').map_or(html.len(), |offset| from + offset + 1);
    match bytes.get(at + 1) {
        Some(b'!') if html[at..].starts_with("<!--") => {
            // The first `-->` or `--!>` after `<!` ends it, so `<!-->` is a whole comment.
            let body = &html[at + 2..];
            let close = [body.find("-->").map(|i| i + 3), body.find("--!>").map(|i| i + 4)].into_iter().flatten().min();
            (Markup::Comment, close.map_or(html.len(), |close| at + 2 + close))
        }
        Some(b'!' | b'?') => (Markup::Comment, up_to_gt(at + 2)),
        Some(b'/') => match bytes.get(at + 2) {
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, end) = tag(html, at + 2);
                (Markup::End(name), end)
            }
            _ => (Markup::Comment, up_to_gt(at + 2)),
        },
        Some(c) if c.is_ascii_alphabetic() => {
            let (name, end) = tag(html, at + 1);
            (Markup::Start(name), end)
        }
        _ => (Markup::Text, at + 1),
    }
}

/// A tag's lowercased name (starting at `from`) and where the tag ends: after its `>`,
/// skipping quoted attribute values, or at the end of the input (then the tokenizer drops
/// it, which writing it unchanged preserves).
fn tag(html: &str, from: usize) -> (String, usize) {
    let bytes = html.as_bytes();
    let name_end = bytes[from..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
        .map_or(bytes.len(), |offset| from + offset);
    let name = html[from..name_end].to_ascii_lowercase();
    let mut i = name_end;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return (name, i + 1),
            b'=' => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if let Some(&quote @ (b'"' | b'\'')) = bytes.get(i) {
                    match bytes[i + 1..].iter().position(|b| *b == quote) {
                        Some(offset) => i += offset + 2,
                        None => return (name, bytes.len()),
                    }
                }
            }
            _ => i += 1,
        }
    }
    (name, bytes.len())
}

/// Where a raw text element's content ends: at its end tag, or the end of the input.
fn raw_text_end(html: &str, from: usize, name: &str) -> usize {
    if name == "plaintext" {
        return html.len();
    }
    let mut at = from;
    while let Some(offset) = html[at..].find("</") {
        let start = at + offset;
        let after = start + 2 + name.len();
        let named = html.get(start + 2..after).is_some_and(|found| found.eq_ignore_ascii_case(name));
        if named && html.as_bytes().get(after).is_none_or(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>') {
            return start;
        }
        at = start + 2;
    }
    html.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_html_passes_unchanged() {
        let html = "<h1 id=\"a\">A &amp; B</h1>\n<ul>\n<li><p>one <em>two</em></p></li>\n</ul>\n<table><thead><tr><th>x</th></tr></thead></table>\n";
        assert_eq!(bounded(html), html);
    }

    #[test]
    fn elements_are_closed_explicitly_and_stray_end_tags_dropped() {
        assert_eq!(bounded("<div><span><b>x</div></i>y"), "<div><span><b>x</b></span></div>y");
        // The parser has already ended a paragraph that is closed implicitly.
        assert_eq!(bounded("<div><p>x</div>"), "<div><p>x</div>");
        assert_eq!(bounded("<details><summary>s</summary>"), "<details><summary>s</summary></details>");
    }

    #[test]
    fn open_elements_past_the_limit_are_text() {
        let out = bounded(&"<div>".repeat(MAX_OPEN + 10));
        assert_eq!(out.matches("<div>").count(), MAX_OPEN);
        assert_eq!(out.matches("&lt;div>").count(), 10);
        assert_eq!(out.matches("</div>").count(), MAX_OPEN);
        let formatting = bounded(&"<b title=\"<x>\">".repeat(MAX_FORMATTING + 1));
        assert_eq!(formatting.matches("<b ").count(), MAX_FORMATTING);
        assert!(formatting.contains("&lt;b title=\"&lt;x>\">"), "a tag shown as text keeps no markup: {formatting}");
    }

    #[test]
    fn long_text_is_cut_between_entities() {
        let text = "&amp;©".repeat(200);
        let out = bounded(&text);
        assert!(out.matches(CUT).count() >= 4, "{out}");
        assert_eq!(out.replace(CUT, ""), text, "nothing but the cuts is added");
        assert!(out.split(CUT).all(|run| run.len() <= MAX_TEXT_RUN + LONGEST_ENTITY));
        assert!(out.split(CUT).all(|run| !run.ends_with('&') && run.matches('&').count() == run.matches(';').count()));
    }

    #[test]
    fn raw_text_and_comments_are_passed_over_whole() {
        let html = "<textarea><div><div></textarea><!-- <div> --><!--><div>x</div><style>p{}</style>";
        assert_eq!(bounded(html), html);
        // Foreign content reads as HTML (where `/>` closes nothing).
        assert_eq!(bounded("<svg><circle/><p>x</p></svg>"), "<circle/><p>x</p></circle>");
        assert_eq!(bounded("<plaintext><b>"), "<plaintext><b>");
    }

    #[test]
    fn tables_stop_taking_misplaced_content() {
        let html = "<table>x</table>".repeat(MAX_FOSTERED + 5);
        let out = bounded(&html);
        assert_eq!(out.matches("<table>").count(), MAX_FOSTERED + 5);
        assert_eq!(out.matches("</table>x").count(), 5, "past the limit the text comes after its table: {out}");
    }
}
