//! Markdown to safe HTML: CommonMark with tables, task lists, strikethrough and
//! footnotes; headings get stable anchors; the result is sanitized with an allow-list,
//! so raw HTML in a spec can never run script in a reader's browser. Every stage is
//! linear in the text (`tables` bounds the cells the parser makes, `events` nesting,
//! `html` what the sanitizer's parser is given), and rendering runs on the blocking
//! pool within a time budget.

mod events;
mod html;
#[cfg(test)]
mod pathological;
mod sanitize;
pub mod syntax;
mod tables;

use crate::budget::{self, Budget};
use crate::error::Result;

/// Renders Markdown as sanitized HTML, off the async workers; `[[links]]` stay as written.
pub async fn render(markdown: String) -> Result<String> {
    budget::run(move |budget| to_html(&markdown, None, budget)).await
}

/// Renders short texts (requirements' titles, say) each as sanitized inline HTML,
/// without the paragraph around it; off the async workers, all within one budget.
pub async fn render_inline(texts: Vec<String>) -> Result<Vec<String>> {
    budget::run(move |budget| {
        texts
            .iter()
            .map(|text| {
                let html = to_html(text, None, budget)?;
                let inline = html.trim_end().strip_prefix("<p>").and_then(|html| html.strip_suffix("</p>"));
                // One paragraph, nothing else: what a title is.
                Ok(match inline {
                    Some(inline) if !inline.contains("<p>") => inline.to_owned(),
                    _ => html,
                })
            })
            .collect()
    })
    .await
}

/// Where a `[[link]]` goes: its address, what it is called and a short preview of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTarget {
    pub href: String,
    pub title: String,
    pub preview: String,
}

/// Renders Markdown as sanitized HTML with `[[target]]` links resolved by `resolve`:
/// found ones become links with a hover preview, others are marked broken.
pub async fn render_linked<R>(markdown: String, resolve: R) -> Result<String>
where
    R: Fn(&str) -> Option<LinkTarget> + Send + 'static,
{
    budget::run(move |budget| to_html(&markdown, Some(&resolve), budget)).await
}

/// Finds what a `[[target]]` names.
pub type Resolver<'a> = dyn Fn(&str) -> Option<LinkTarget> + 'a;

/// Markdown as sanitized HTML, open questions marked. With `resolve` (a document's
/// preview) `[[links]]` resolve and each block's line is marked (`<span data-line>`), so
/// the editor can keep its text and the preview side by side.
fn to_html(markdown: &str, resolve: Option<&Resolver<'_>>, budget: &Budget) -> Result<String> {
    let markdown = tables::bounded(markdown);
    let mut events = events::with_heading_anchors(events::parse(&markdown, resolve.is_some(), budget)?);
    if let Some(resolve) = resolve {
        events = events::with_wikilinks(events, resolve);
    }
    let events = events::with_clarification_marks(events);
    budget.check()?;
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    budget.check()?;
    let html = html::bounded(&html);
    budget.check()?;
    Ok(sanitize::clean(&html))
}

/// A document cut at its headings: each section's heading text (`""` before the first
/// heading) and its lines up to the next heading. Lines in fenced code blocks are never
/// headings.
pub fn sections(markdown: &str) -> Vec<(String, String)> {
    let mut sections = vec![(String::new(), String::new())];
    let mut fence: Option<&str> = None;
    for line in markdown.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some((_, heading)) = syntax::heading(trimmed) {
            sections.push((heading, String::new()));
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
        }
    }
    if sections.len() > 1 && sections[0].1.trim().is_empty() {
        sections.remove(0);
    }
    sections
}

/// A heading's anchor: its text, lowercased, with runs of other characters as dashes.
pub fn slug(text: &str) -> String {
    slugify(text, char::is_alphanumeric, usize::MAX).unwrap_or_else(|| "section".to_owned())
}

/// Lowercases `text`, keeps the characters `keep` accepts and turns every run of others
/// into one dash, stopping at about `max_len` bytes. `None` when nothing is kept.
pub fn slugify(text: &str, keep: impl Fn(char) -> bool, max_len: usize) -> Option<String> {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if slug.len() >= max_len {
            break;
        }
        if keep(c) {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| slug.to_owned())
}

/// Text made safe for HTML, in text and in quoted attributes alike.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A `[[target]]` as previews show it: a link with its hover preview when `found`, else
/// marked broken, showing what was `written`.
pub fn wikilink(target: &str, label: &str, written: &str, found: Option<&LinkTarget>) -> String {
    match found {
        Some(found) => format!(
            "<a class=\"wikilink\" href=\"{}\" title=\"{}\" data-preview=\"{}\">{}</a>",
            escape(&found.href),
            escape(&found.title),
            escape(&found.preview),
            escape(label)
        ),
        None => format!(
            "<span class=\"wikilink broken\" title=\"No requirement or document is called {}\">{}</span>",
            escape(target),
            escape(written)
        ),
    }
}

/// Markdown as sanitized HTML within a budget the caller holds (a contract's
/// descriptions, rendered with the rest of its reference).
pub fn to_html_within(markdown: &str, budget: &Budget) -> Result<String> {
    to_html(markdown, None, budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(markdown: &str) -> String {
        to_html(markdown, None, &Budget::new(budget::LIMIT)).unwrap()
    }

    fn rendered_linked(markdown: &str, resolve: &Resolver<'_>) -> String {
        to_html(markdown, Some(resolve), &Budget::new(budget::LIMIT)).unwrap()
    }

    #[test]
    fn renders_tables_code_task_lists_and_anchored_headings() {
        let html = rendered(
            "# User login\n\n## Acceptance\n\n## Acceptance\n\n| ID | Text |\n|----|------|\n| AUTH-001 | Log in |\n\n\
             ```rust\nfn main() {}\n```\n\n- [x] done\n- [ ] open\n",
        );
        assert!(
            html.contains(
                r##"<h1 id="user-content-user-login">User login<a class="anchor" href="#user-content-user-login""##
            ),
            "{html}"
        );
        assert!(html.contains(r#"<h2 id="user-content-acceptance">"#), "{html}");
        assert!(
            html.contains(r#"<h2 id="user-content-acceptance-2">"#),
            "duplicate headings get distinct anchors: {html}"
        );
        assert!(html.contains("<table>") && html.contains("<td>AUTH-001</td>"), "{html}");
        assert!(html.contains(r#"<code class="language-rust">fn main() {}"#), "{html}");
        assert_eq!(html.matches(r#"type="checkbox""#).count(), 2, "{html}");
        assert_eq!(html.matches("checked").count(), 1, "only the done item is ticked: {html}");
        assert_eq!(html.matches("disabled").count(), 2, "task boxes are read-only: {html}");
    }

    #[test]
    fn a_preview_marks_where_blocks_start_and_open_questions() {
        let html = rendered_linked(
            "# Login\n\nWhy [NEEDS CLARIFICATION: how long?] now.\n\n- one\n- two\n\n<span data-line=\"x\">typed</span>\n",
            &|_| None,
        );
        assert!(html.contains("<span data-line=\"1\"></span>\n<h1"), "{html}");
        assert!(html.contains(r#"<p>Why <mark class="clarification" title="Open question">[NEEDS CLARIFICATION: how long?]</mark> now."#), "{html}");
        assert!(html.contains("<span data-line=\"3\"></span>\n<p>"), "{html}");
        assert!(
            html.contains(r#"<li><span data-line="5"></span>one"#)
                && html.contains(r#"<li><span data-line="6"></span>two"#),
            "{html}"
        );
        assert!(!html.contains(r#"data-line="x""#), "only line numbers pass: {html}");
        assert!(!rendered("# Login\n").contains("data-line"), "other renders carry no anchors");
    }

    #[test]
    fn open_questions_are_not_marked_in_code_or_image_descriptions() {
        let html = rendered(
            "```\n[NEEDS CLARIFICATION: in code]\n```\n\n![x [NEEDS CLARIFICATION: alt]](https://example.com/a.png)\n",
        );
        assert!(!html.contains("<mark"), "{html}");
        assert!(!html.contains("&lt;mark"), "no markup in the description: {html}");
    }

    #[tokio::test]
    async fn titles_render_inline_and_sanitized() {
        let titles = vec!["The system SHALL *lock* it.".to_owned(), "<img src=x onerror=alert(1)> `code`".to_owned()];
        let html = render_inline(titles).await.unwrap();
        assert_eq!(html[0], "The system SHALL <em>lock</em> it.");
        assert!(!html[1].contains("onerror") && html[1].contains("<code>code</code>"), "{}", html[1]);
        assert!(!html[1].starts_with("<p>"), "{}", html[1]);
    }

    #[test]
    fn removes_script_tags() {
        let html =
            rendered("Hello <script>alert('x')</script> world\n\n<script src=\"https://evil.example/x.js\"></script>");
        assert!(!html.to_lowercase().contains("<script"), "{html}");
        assert!(!html.contains("alert("), "{html}");
        assert!(html.contains("Hello"), "{html}");
    }

    #[test]
    fn removes_javascript_links() {
        for source in [
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">click</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">click</a>",
            "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        ] {
            let html = rendered(source);
            let lower = html.to_lowercase();
            assert!(!lower.contains("javascript:") && !lower.contains("data:"), "{source} -> {html}");
            assert!(html.contains("click"), "the link text stays: {html}");
        }
        let safe = rendered("[docs](https://example.com/a)");
        assert!(safe.contains(r#"href="https://example.com/a""#), "{safe}");
    }

    #[test]
    fn removes_event_handlers() {
        let html = rendered(
            "<img src=\"x.png\" onerror=\"alert(1)\"> <p onclick=\"alert(2)\">hi</p> <div onmouseover='alert(3)'>x</div>",
        );
        assert!(!html.to_lowercase().contains("onerror"), "{html}");
        assert!(!html.to_lowercase().contains("onclick"), "{html}");
        assert!(!html.to_lowercase().contains("onmouseover"), "{html}");
        assert!(html.contains("<img src=\"x.png\""), "harmless parts stay: {html}");
    }

    #[test]
    fn removes_svg_payloads() {
        let html = rendered(
            "<svg onload=\"alert(1)\"><script>alert(2)</script><a xlink:href=\"javascript:alert(3)\"><text>t</text></a></svg>\n\n\
             <math><mtext><img src=x onerror=alert(4)></mtext></math>",
        );
        let lower = html.to_lowercase();
        for needle in ["<svg", "onload", "<script", "javascript:", "onerror", "<math"] {
            assert!(!lower.contains(needle), "{needle} survived: {html}");
        }
    }

    #[test]
    fn removes_forms_iframes_and_non_checkbox_inputs() {
        let html = rendered("<iframe src=\"https://evil.example\"></iframe><form action=\"/x\"><input type=\"text\" name=\"p\"></form><style>body{}</style>");
        let lower = html.to_lowercase();
        for needle in ["<iframe", "<form", "type=\"text\"", "<style"] {
            assert!(!lower.contains(needle), "{needle} survived: {html}");
        }
    }

    #[test]
    fn ids_are_prefixed_so_a_document_cannot_clobber_the_page() {
        let html = rendered(
            "# Main\n\nSee [the top](#main) and a note[^n].\n\n[^n]: The note.\n\n\
             <div id=\"__proto__\"><img name=\"body\" id=\"x\" src=\"a.png\"><form id=\"f\" name=\"f\"></form>\
             <a href=\"#main\" id=\"y\">up</a><h2 id=\"user-content-z\">z</h2></div>\n",
        );
        assert!(html.contains(r#"<h1 id="user-content-main">"#), "{html}");
        assert_eq!(
            html.matches(r##"href="#user-content-main""##).count(),
            3,
            "anchor, Markdown and HTML links: {html}"
        );
        assert!(html.contains(r##"href="#user-content-n""##) && html.contains(r#"id="user-content-n""#), "{html}");
        assert!(html.contains(r#"<div id="user-content-__proto__">"#), "{html}");
        assert!(html.contains(r#"<h2 id="user-content-z">"#), "a prefixed id is not prefixed twice: {html}");
        assert!(html.split(" id=\"").skip(1).all(|id| id.starts_with(sanitize::ID_PREFIX)), "{html}");
        assert!(html.split("href=\"#").skip(1).all(|href| href.starts_with(sanitize::ID_PREFIX)), "{html}");
        assert!(!html.contains("name="), "{html}");
    }

    #[test]
    fn sections_follow_headings_outside_code_fences() {
        let text = "Intro\n# Login\nbody\n```\n# not a heading\n```\n## AUTH-001: Lockout ##\nrule\n#hashtag\n";
        let cut = sections(text);
        let headings: Vec<&str> = cut.iter().map(|(heading, _)| heading.as_str()).collect();
        assert_eq!(headings, vec!["", "Login", "AUTH-001: Lockout"]);
        assert_eq!(cut[1].1, "# Login\nbody\n```\n# not a heading\n```\n");
        assert_eq!(cut.iter().map(|(_, body)| body.as_str()).collect::<String>(), text, "nothing is lost");
        assert_eq!(sections("# Only\n").len(), 1, "no empty preamble");
    }

    #[test]
    fn wikilinks_resolve_escape_and_skip_code() {
        let resolve = |target: &str| {
            (target == "AUTH-001").then(|| LinkTarget {
                href: "/p/x/req/AUTH-001".into(),
                title: "AUTH-001: Lockout".into(),
                preview: "The system SHALL <lock>\"".into(),
            })
        };
        let html = rendered_linked(
            "See [[AUTH-001]], [[AUTH-001|the lockout]] and [[Nope]]; `[[AUTH-001]]`.\n\n[x [[AUTH-001]]](https://e.x)",
            &resolve,
        );
        assert!(html.contains(r#"<a class="wikilink" href="/p/x/req/AUTH-001" title="AUTH-001: Lockout" data-preview="The system SHALL &lt;lock&gt;&quot;" rel="noopener noreferrer">AUTH-001</a>"#), "{html}");
        assert!(html.contains(">the lockout</a>"), "{html}");
        assert!(
            html.contains(
                r#"<span class="wikilink broken" title="No requirement or document is called Nope">[[Nope]]</span>"#
            ),
            "{html}"
        );
        assert!(html.contains("<code>[[AUTH-001]]</code>"), "code stays code: {html}");
        assert_eq!(html.matches("class=\"wikilink\"").count(), 2, "no link inside a link: {html}");
        assert!(!rendered("[[AUTH-001]]").contains("wikilink"), "plain rendering leaves links as written");
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("AUTH-001: Log in"), "auth-001-log-in");
        assert_eq!(slug("Überblick & Ziele"), "überblick-ziele");
        assert_eq!(slug("***"), "section");
    }
}
