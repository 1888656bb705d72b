//! Passes over the Markdown parser's events: nesting kept within bounds (and, for a
//! document's preview, each block's line marked), heading anchors, `[[links]]` and open
//! questions marked. Each is one pass, linear in the number of events.

use std::collections::{HashMap, HashSet};

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::syntax::{clarification_regex, link_regex};
use super::{slug, Resolver};
use crate::budget::Budget;
use crate::error::Result;

/// Block containers (quotes, lists, list items, footnotes) nest at most this deep, and
/// emphasis at most `MAX_INLINE_DEPTH`: the HTML parser behind the sanitizer does work
/// proportional to the depth at every tag. Deeper markers stay the text they were typed as.
const MAX_BLOCK_DEPTH: usize = 32;
const MAX_INLINE_DEPTH: usize = 6;

/// Events between two looks at the budget.
const CHECK_EVERY: usize = 4096;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

/// What an open tag turns into when it closes.
enum Open<'a> {
    Kept(Depth),
    /// Too deep: shown as its closing marker (possibly none).
    Dropped(&'a str),
}

#[derive(Clone, Copy)]
enum Depth {
    Block,
    Inline,
    Other,
}

/// Counts lines up to increasing offsets, in one pass over the text.
struct Lines<'a> {
    text: &'a str,
    at: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line (from 1) holding `offset`; offsets come in order (block starts do).
    fn of(&mut self, offset: usize) -> usize {
        if offset > self.at {
            self.line += self.text.as_bytes()[self.at..offset].iter().filter(|byte| **byte == b'\n').count();
            self.at = offset;
        }
        self.line
    }
}

/// Where a block starts in the text, for the editor to line the preview up with it: an
/// empty `<span data-line="N">` before the block (inside a list item, at its start).
fn line_anchor<'a>(line: usize) -> Event<'a> {
    Event::InlineHtml(CowStr::from(format!("<span data-line=\"{line}\"></span>")))
}

/// The document's events with nesting bounded; with `anchors`, each block's line marked.
pub(super) fn parse<'a>(markdown: &'a str, anchors: bool, budget: &Budget) -> Result<Vec<Event<'a>>> {
    let mut out = Vec::new();
    let mut open: Vec<Open<'a>> = Vec::new();
    let (mut blocks, mut inlines) = (0usize, 0usize);
    let mut lines = Lines { text: markdown, at: 0, line: 1 };
    for (index, (event, range)) in Parser::new_ext(markdown, options()).into_offset_iter().enumerate() {
        if index % CHECK_EVERY == 0 {
            budget.check()?;
        }
        let start = range.start;
        let source = &markdown[range];
        match event {
            Event::Start(tag) => {
                let depth = match &tag {
                    Tag::BlockQuote(_) | Tag::List(_) | Tag::Item | Tag::FootnoteDefinition(_) => Depth::Block,
                    Tag::Emphasis | Tag::Strong | Tag::Strikethrough => Depth::Inline,
                    _ => Depth::Other,
                };
                let too_deep = match depth {
                    Depth::Block => blocks >= MAX_BLOCK_DEPTH,
                    Depth::Inline => inlines >= MAX_INLINE_DEPTH,
                    Depth::Other => false,
                };
                if too_deep {
                    let (opening, closing) = markers(&tag, source);
                    if !opening.is_empty() {
                        out.push(Event::Text(opening));
                    }
                    open.push(Open::Dropped(closing));
                    continue;
                }
                match depth {
                    Depth::Block => blocks += 1,
                    Depth::Inline => inlines += 1,
                    Depth::Other => {}
                }
                open.push(Open::Kept(depth));
                let anchor = anchors
                    && matches!(
                        tag,
                        Tag::Paragraph
                            | Tag::Heading { .. }
                            | Tag::CodeBlock(_)
                            | Tag::Table(_)
                            | Tag::BlockQuote(_)
                            | Tag::Item
                    );
                match (anchor, &tag) {
                    (false, _) => out.push(Event::Start(tag)),
                    (true, Tag::Item) => {
                        out.push(Event::Start(tag));
                        out.push(line_anchor(lines.of(start)));
                    }
                    (true, _) => {
                        out.push(line_anchor(lines.of(start)));
                        out.push(Event::Start(tag));
                    }
                }
            }
            Event::End(end) => match open.pop() {
                Some(Open::Dropped(closing)) => {
                    if !closing.is_empty() {
                        out.push(Event::Text(CowStr::Borrowed(closing)));
                    }
                }
                Some(Open::Kept(depth)) => {
                    match depth {
                        Depth::Block => blocks -= 1,
                        Depth::Inline => inlines -= 1,
                        Depth::Other => {}
                    }
                    out.push(Event::End(end));
                }
                None => out.push(Event::End(end)),
            },
            event => out.push(event),
        }
    }
    Ok(out)
}

/// The text a container or emphasis too deep to keep is shown as: its marker as
/// written (`> `, `- `, `1. `, `**`), and what closes it.
fn markers<'a>(tag: &Tag<'a>, source: &'a str) -> (CowStr<'a>, &'a str) {
    match tag {
        Tag::BlockQuote(_) => (CowStr::Borrowed("> "), ""),
        Tag::Item => {
            let marker = source.trim_start().split(char::is_whitespace).next().unwrap_or_default();
            (CowStr::from(format!("{marker} ")), "")
        }
        Tag::FootnoteDefinition(label) => (CowStr::from(format!("[^{label}]: ")), ""),
        Tag::Emphasis | Tag::Strong | Tag::Strikethrough => {
            let width = match tag {
                Tag::Emphasis => 1,
                Tag::Strong => 2,
                _ => source.bytes().take_while(|b| *b == b'~').count().clamp(1, 2),
            };
            match (source.get(..width), source.get(source.len().saturating_sub(width)..)) {
                (Some(opening), Some(closing)) if source.len() >= 2 * width => (CowStr::Borrowed(opening), closing),
                _ => (CowStr::Borrowed(""), ""),
            }
        }
        _ => (CowStr::Borrowed(""), ""),
    }
}

/// Marks `[NEEDS CLARIFICATION: …]` in the text as an open question, where the spec
/// parser counts one: not in code, nor in an image's description (which is an
/// attribute). Runs of text are joined first: the parser splits them at brackets.
pub(super) fn with_clarification_marks(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut out = Vec::with_capacity(events.len());
    let mut text = String::new();
    let mut unmarked = 0usize;
    for event in events {
        match &event {
            Event::Text(piece) if unmarked == 0 => {
                text.push_str(piece);
                continue;
            }
            Event::Start(Tag::Image { .. } | Tag::CodeBlock(_)) => unmarked += 1,
            Event::End(TagEnd::Image | TagEnd::CodeBlock) => unmarked = unmarked.saturating_sub(1),
            _ => {}
        }
        marked_text(std::mem::take(&mut text), &mut out);
        out.push(event);
    }
    marked_text(text, &mut out);
    out
}

fn marked_text<'a>(text: String, out: &mut Vec<Event<'a>>) {
    if text.is_empty() {
        return;
    }
    let mut written = 0;
    for found in clarification_regex().find_iter(&text) {
        if found.start() > written {
            out.push(Event::Text(CowStr::from(text[written..found.start()].to_owned())));
        }
        out.push(Event::InlineHtml(CowStr::Borrowed(r#"<mark class="clarification" title="Open question">"#)));
        out.push(Event::Text(CowStr::from(found.as_str().to_owned())));
        out.push(Event::InlineHtml(CowStr::Borrowed("</mark>")));
        written = found.end();
    }
    if written == 0 {
        out.push(Event::Text(CowStr::from(text)));
    } else if written < text.len() {
        out.push(Event::Text(CowStr::from(text[written..].to_owned())));
    }
}

/// Gives every heading an id (made unique with `-2`, `-3`, ...) and a self-link.
pub(super) fn with_heading_anchors(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut anchors = Anchors::default();
    let mut out = Vec::with_capacity(events.len() + events.len() / 8);
    // The open heading: where its start is in `out`, and its text so far.
    let mut heading: Option<(usize, String)> = None;
    for event in events {
        match (&event, &mut heading) {
            (Event::Start(Tag::Heading { .. }), _) => heading = Some((out.len(), String::new())),
            (Event::Text(text) | Event::Code(text), Some((_, words))) => words.push_str(text),
            (Event::End(TagEnd::Heading(_)), Some(_)) => {
                let (at, words) = heading.take().expect("an open heading");
                let anchor = anchors.unique(slug(&words));
                if let Some(Event::Start(Tag::Heading { id, .. })) = out.get_mut(at) {
                    *id = Some(CowStr::from(anchor.clone()));
                }
                out.push(Event::InlineHtml(CowStr::from(format!(
                    "<a class=\"anchor\" href=\"#{anchor}\" aria-label=\"Link to this section\">#</a>"
                ))));
            }
            _ => {}
        }
        out.push(event);
    }
    out
}

/// Anchors handed out so far: each is unique within the document.
#[derive(Default)]
struct Anchors {
    used: HashSet<String>,
    /// The next number to try for a slug.
    next: HashMap<String, usize>,
}

impl Anchors {
    fn unique(&mut self, base: String) -> String {
        let mut number = self.next.get(&base).copied().unwrap_or(1);
        let mut anchor = if number == 1 { base.clone() } else { format!("{base}-{number}") };
        while self.used.contains(&anchor) {
            number += 1;
            anchor = format!("{base}-{number}");
        }
        self.next.insert(base, number + 1);
        self.used.insert(anchor.clone());
        anchor
    }
}

/// Turns `[[target]]` and `[[target|label]]` in text (not in code, links or images)
/// into links, as the spec parser reads them. Adjacent text events are joined first:
/// the Markdown parser splits text at brackets.
pub(super) fn with_wikilinks<'a>(events: Vec<Event<'a>>, resolve: &Resolver<'_>) -> Vec<Event<'a>> {
    let mut out = Vec::with_capacity(events.len());
    let mut text = String::new();
    let mut in_link = 0usize;
    for event in events {
        match &event {
            Event::Text(piece) if in_link == 0 => {
                text.push_str(piece);
                continue;
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => in_link += 1,
            Event::End(TagEnd::Link | TagEnd::Image) => in_link = in_link.saturating_sub(1),
            _ => {}
        }
        link_text(std::mem::take(&mut text), resolve, &mut out);
        out.push(event);
    }
    link_text(text, resolve, &mut out);
    out
}

fn link_text<'a>(text: String, resolve: &Resolver<'_>, out: &mut Vec<Event<'a>>) {
    let mut written = 0;
    for found in link_regex().captures_iter(&text) {
        let (whole, target) = (found.get(0).expect("group 0"), found[1].trim());
        if target.is_empty() {
            continue;
        }
        let label = found.get(2).map(|label| label.as_str().trim()).filter(|label| !label.is_empty()).unwrap_or(target);
        let html = super::wikilink(target, label, whole.as_str(), resolve(target).as_ref());
        if whole.start() > written {
            out.push(Event::Text(CowStr::from(text[written..whole.start()].to_owned())));
        }
        out.push(Event::InlineHtml(CowStr::from(html)));
        written = whole.end();
    }
    if written == 0 && !text.is_empty() {
        out.push(Event::Text(CowStr::from(text)));
    } else if written < text.len() {
        out.push(Event::Text(CowStr::from(text[written..].to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::LIMIT;

    fn events(markdown: &str) -> Vec<Event<'_>> {
        parse(markdown, false, &Budget::new(LIMIT)).unwrap()
    }

    fn starts(events: &[Event<'_>], tag: fn(&Tag<'_>) -> bool) -> usize {
        events.iter().filter(|event| matches!(event, Event::Start(found) if tag(found))).count()
    }

    fn text(events: &[Event<'_>]) -> String {
        events
            .iter()
            .filter_map(|event| if let Event::Text(text) = event { Some(text.as_ref()) } else { None })
            .collect()
    }

    #[test]
    fn nesting_past_the_limit_keeps_its_markers_as_text() {
        let quotes = ">".repeat(100);
        let quotes = events(&quotes);
        assert_eq!(starts(&quotes, |tag| matches!(tag, Tag::BlockQuote(_))), MAX_BLOCK_DEPTH);
        assert_eq!(text(&quotes), "> ".repeat(100 - MAX_BLOCK_DEPTH), "the deeper quotes read as typed");

        let lists = format!("{}x", "1. ".repeat(40));
        let lists = events(&lists);
        assert_eq!(starts(&lists, |tag| matches!(tag, Tag::List(_))), MAX_BLOCK_DEPTH / 2);
        assert_eq!(text(&lists), format!("{}x", "1. ".repeat(40 - MAX_BLOCK_DEPTH / 2)));

        // `*w _w *w … x … w* w_ w*`: twenty levels of emphasis.
        let marks = ["*", "_"].repeat(10);
        let opening: String = marks.iter().map(|mark| format!("{mark}w ")).collect();
        let closing: String = marks.iter().rev().map(|mark| format!(" w{mark}")).collect();
        let emphasis = format!("{opening}x{closing}");
        let emphasis = events(&emphasis);
        assert_eq!(starts(&emphasis, |tag| matches!(tag, Tag::Emphasis)), MAX_INLINE_DEPTH);
        let shown = text(&emphasis).chars().filter(|c| matches!(c, '*' | '_')).count();
        assert_eq!(shown, 2 * (20 - MAX_INLINE_DEPTH), "the deeper marks read as typed");
    }

    #[test]
    fn heading_anchors_are_unique() {
        let anchored = with_heading_anchors(events("# A\n\n# A\n\n# A-2\n\n# A\n"));
        let ids: Vec<&str> = anchored
            .iter()
            .filter_map(|event| match event {
                Event::Start(Tag::Heading { id: Some(id), .. }) => Some(id.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["a", "a-2", "a-2-2", "a-3"]);
    }

    #[test]
    fn wikilinks_read_as_the_spec_parser_reads_them() {
        let resolve = |target: &str| {
            (target == "AUTH-1").then(|| super::super::LinkTarget {
                href: "/r".into(),
                title: "t".into(),
                preview: "p".into(),
            })
        };
        let text = "[[[AUTH-1]] and [[AUTH-1|]] [[a]b]] [[ ]]";
        let linked = with_wikilinks(events(text), &resolve);
        let html: Vec<&str> = linked
            .iter()
            .filter_map(|event| if let Event::InlineHtml(html) = event { Some(html.as_ref()) } else { None })
            .collect();
        assert_eq!(html.len(), 2, "{html:?}");
        assert!(html.iter().all(|link| link.ends_with(">AUTH-1</a>")), "an empty label shows the target: {html:?}");
        let targets: Vec<String> =
            crate::structure::parse::parse(text).links.into_iter().map(|link| link.target).collect();
        assert_eq!(targets, ["AUTH-1", "AUTH-1"]);
    }
}
