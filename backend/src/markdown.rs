//! Markdown to safe HTML: CommonMark with tables, task lists, strikethrough and
//! footnotes; headings get stable anchors; the result is sanitized with an allow-list,
//! so raw HTML in a spec can never run script in a reader's browser.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Json;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::{content, AppState};

/// Renders Markdown as sanitized HTML; `[[links]]` stay as written.
pub fn render(markdown: &str) -> String {
    to_html(markdown, None)
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
pub fn render_linked(markdown: &str, resolve: &Resolver<'_>) -> String {
    to_html(markdown, Some(resolve))
}

/// Finds what a `[[target]]` names.
pub type Resolver<'a> = dyn Fn(&str) -> Option<LinkTarget> + 'a;

fn to_html(markdown: &str, resolve: Option<&Resolver<'_>>) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    let mut events = with_heading_anchors(Parser::new_ext(markdown, options).collect());
    if let Some(resolve) = resolve {
        events = with_wikilinks(events, resolve);
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitizer().clean(&html).to_string()
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
        } else if let Some((_, heading)) = crate::spec::parse::heading(trimmed) {
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
pub(crate) fn slugify(text: &str, keep: impl Fn(char) -> bool, max_len: usize) -> Option<String> {
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

/// Gives every heading an id (made unique with `-2`, `-3`, ...) and a self-link.
fn with_heading_anchors(events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(events.len() + 8);
    let mut index = 0;
    while index < events.len() {
        let Event::Start(Tag::Heading { level, id: None, classes, attrs }) = &events[index] else {
            out.push(events[index].clone());
            index += 1;
            continue;
        };
        let end = events[index..]
            .iter()
            .position(|event| matches!(event, Event::End(TagEnd::Heading(_))))
            .map_or(events.len(), |offset| index + offset);
        let text: String = events[index + 1..end]
            .iter()
            .filter_map(|event| match event {
                Event::Text(text) | Event::Code(text) => Some(text.as_ref()),
                _ => None,
            })
            .collect();
        let base = slug(&text);
        let count = seen.entry(base.clone()).or_insert(0);
        *count += 1;
        let anchor = if *count == 1 { base } else { format!("{base}-{count}") };
        out.push(Event::Start(Tag::Heading {
            level: *level,
            id: Some(CowStr::from(anchor.clone())),
            classes: classes.clone(),
            attrs: attrs.clone(),
        }));
        out.extend(events[index + 1..end].iter().cloned());
        out.push(Event::InlineHtml(CowStr::from(format!(
            "<a class=\"anchor\" href=\"#{anchor}\" aria-label=\"Link to this section\">#</a>"
        ))));
        index = end;
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Turns `[[target]]` and `[[target|label]]` in text (not in code or inside links) into
/// links. Adjacent text events are joined first: the parser splits text at brackets.
fn with_wikilinks<'a>(events: Vec<Event<'a>>, resolve: &Resolver<'_>) -> Vec<Event<'a>> {
    let mut joined: Vec<Event<'a>> = Vec::with_capacity(events.len());
    for event in events {
        match (joined.last_mut(), event) {
            (Some(Event::Text(previous)), Event::Text(text)) => *previous = CowStr::from(format!("{previous}{text}")),
            (_, event) => joined.push(event),
        }
    }
    let mut out = Vec::with_capacity(joined.len());
    let mut in_link = 0usize;
    for event in joined {
        match event {
            Event::Start(Tag::Link { .. }) => {
                in_link += 1;
                out.push(event);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                out.push(event);
            }
            Event::Text(text) if in_link == 0 && text.contains("[[") => {
                let mut rest: &str = &text;
                while let Some(start) = rest.find("[[") {
                    let Some(length) = rest[start + 2..].find("]]") else { break };
                    let inner = &rest[start + 2..start + 2 + length];
                    if inner.is_empty() || inner.contains('[') || inner.contains('\n') {
                        out.push(Event::Text(CowStr::from(rest[..start + 2].to_owned())));
                        rest = &rest[start + 2..];
                        continue;
                    }
                    out.push(Event::Text(CowStr::from(rest[..start].to_owned())));
                    let (target, label) = inner.split_once('|').unwrap_or((inner, inner));
                    let (target, label) = (target.trim(), label.trim());
                    let html = match resolve(target) {
                        Some(found) => format!(
                            "<a class=\"wikilink\" href=\"{}\" title=\"{}\" data-preview=\"{}\">{}</a>",
                            escape(&found.href),
                            escape(&found.title),
                            escape(&found.preview),
                            escape(label)
                        ),
                        None => format!(
                            "<span class=\"wikilink broken\" title=\"No requirement or document is called {}\">[[{}]]</span>",
                            escape(target),
                            escape(inner)
                        ),
                    };
                    out.push(Event::InlineHtml(CowStr::from(html)));
                    rest = &rest[start + 2 + length + 2..];
                }
                if !rest.is_empty() {
                    out.push(Event::Text(CowStr::from(rest.to_owned())));
                }
            }
            event => out.push(event),
        }
    }
    out
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        let headings = [
            HeadingLevel::H1,
            HeadingLevel::H2,
            HeadingLevel::H3,
            HeadingLevel::H4,
            HeadingLevel::H5,
            HeadingLevel::H6,
        ];
        for level in headings {
            builder.add_tag_attributes(heading_tag(level), &["id"]);
        }
        builder
            .add_tags(&["input"])
            .add_tag_attributes("input", &["type", "checked", "disabled"])
            .add_tag_attributes("code", &["class"])
            .add_tag_attributes("li", &["id"])
            .add_tag_attributes("sup", &["id"])
            .add_tag_attributes("div", &["id"])
            .add_allowed_classes("a", &["anchor", "wikilink"])
            .add_allowed_classes("span", &["wikilink", "broken"])
            .add_tag_attributes("a", &["title", "data-preview"])
            .add_tag_attributes("span", &["title"])
            .add_allowed_classes("div", &["footnote-definition"])
            // Task-list checkboxes are the only inputs Markdown makes; nothing else may pass.
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("input", "type") if value != "checkbox" => None,
                ("code", "class") if !value.starts_with("language-") => None,
                _ => Some(value.into()),
            });
        let allowed: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
        builder.url_schemes(allowed);
        builder
    })
}

fn heading_tag(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

#[derive(Deserialize, ToSchema)]
pub struct RenderRequest {
    pub markdown: String,
    /// With `branch`: resolve `[[links]]` against this document's project on that branch.
    pub document_id: Option<uuid::Uuid>,
    pub branch: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Rendered {
    /// Sanitized HTML, safe to insert into a page.
    pub html: String,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(render_handler))
}

/// Render Markdown the way Charter shows documents: sanitized HTML (for live previews).
#[utoipa::path(post, path = "/render", tag = "documents", request_body = RenderRequest,
    responses((status = 200, body = Rendered), (status = 401, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn render_handler(
    axum::extract::State(state): axum::extract::State<AppState>,
    actor: Actor,
    Json(request): Json<RenderRequest>,
) -> Result<Json<Rendered>> {
    content::validate(&request.markdown)?;
    let links = match request.document_id {
        Some(document_id) => {
            let branch = request.branch.as_deref().unwrap_or(crate::branches::MAIN);
            Some(crate::spec::Links::for_document(&state.db, &actor, document_id, branch).await?)
        }
        None => None,
    };
    // Large documents take a while to render: off the async workers.
    let html = tokio::task::spawn_blocking(move || match links {
        Some(links) => render_linked(&request.markdown, &|target| links.resolve(target)),
        None => render(&request.markdown),
    })
    .await
    .map_err(Error::internal)?;
    Ok(Json(Rendered { html }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_tables_code_task_lists_and_anchored_headings() {
        let html = render(
            "# User login\n\n## Acceptance\n\n## Acceptance\n\n| ID | Text |\n|----|------|\n| AUTH-001 | Log in |\n\n\
             ```rust\nfn main() {}\n```\n\n- [x] done\n- [ ] open\n",
        );
        assert!(html.contains(r##"<h1 id="user-login">User login<a class="anchor" href="#user-login""##), "{html}");
        assert!(html.contains(r#"<h2 id="acceptance">"#), "{html}");
        assert!(html.contains(r#"<h2 id="acceptance-2">"#), "duplicate headings get distinct anchors: {html}");
        assert!(html.contains("<table>") && html.contains("<td>AUTH-001</td>"), "{html}");
        assert!(html.contains(r#"<code class="language-rust">fn main() {}"#), "{html}");
        assert_eq!(html.matches(r#"type="checkbox""#).count(), 2, "{html}");
        assert_eq!(html.matches("checked").count(), 1, "only the done item is ticked: {html}");
        assert_eq!(html.matches("disabled").count(), 2, "task boxes are read-only: {html}");
    }

    #[test]
    fn removes_script_tags() {
        let html =
            render("Hello <script>alert('x')</script> world\n\n<script src=\"https://evil.example/x.js\"></script>");
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
            let html = render(source);
            let lower = html.to_lowercase();
            assert!(!lower.contains("javascript:") && !lower.contains("data:"), "{source} -> {html}");
            assert!(html.contains("click"), "the link text stays: {html}");
        }
        let safe = render("[docs](https://example.com/a)");
        assert!(safe.contains(r#"href="https://example.com/a""#), "{safe}");
    }

    #[test]
    fn removes_event_handlers() {
        let html = render(
            "<img src=\"x.png\" onerror=\"alert(1)\"> <p onclick=\"alert(2)\">hi</p> <div onmouseover='alert(3)'>x</div>",
        );
        assert!(!html.to_lowercase().contains("onerror"), "{html}");
        assert!(!html.to_lowercase().contains("onclick"), "{html}");
        assert!(!html.to_lowercase().contains("onmouseover"), "{html}");
        assert!(html.contains("<img src=\"x.png\""), "harmless parts stay: {html}");
    }

    #[test]
    fn removes_svg_payloads() {
        let html = render(
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
        let html = render("<iframe src=\"https://evil.example\"></iframe><form action=\"/x\"><input type=\"text\" name=\"p\"></form><style>body{}</style>");
        let lower = html.to_lowercase();
        for needle in ["<iframe", "<form", "type=\"text\"", "<style"] {
            assert!(!lower.contains(needle), "{needle} survived: {html}");
        }
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
        let html = render_linked(
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
        assert!(!render("[[AUTH-001]]").contains("wikilink"), "plain rendering leaves links as written");
    }

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("AUTH-001: Log in"), "auth-001-log-in");
        assert_eq!(slug("Überblick & Ziele"), "überblick-ziele");
        assert_eq!(slug("***"), "section");
    }
}
