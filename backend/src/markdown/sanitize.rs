//! The allow-list every rendering passes through, so raw HTML in a spec can never run
//! script in a reader's browser or stand in for the page's own elements.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use super::html::RAW_TEXT;

/// Every `id` a document brings (heading anchors, footnotes, raw HTML) gets this prefix,
/// and every in-page link (`#…`) points at prefixed ids: a document cannot clobber the
/// page's own elements or globals (`id="__proto__"`, `id="main"`).
pub(super) const ID_PREFIX: &str = "user-content-";

/// Longer attribute values are dropped: no real link or title is this long, and the
/// HTML serializer takes time quadratic in the length of one full of `&`.
const MAX_ATTRIBUTE_BYTES: usize = 2048;

pub(super) fn clean(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
            builder.add_tag_attributes(heading, &["id"]);
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
            .add_tag_attributes("span", &["title", "data-line"])
            .add_allowed_classes("mark", &["clarification"])
            .add_tag_attributes("mark", &["title"])
            .add_allowed_classes("div", &["footnote-definition"])
            // Raw text elements go with their content (the bounding pass leaves it unread).
            .add_clean_content_tags(&RAW_TEXT)
            .id_prefix(Some(ID_PREFIX))
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                _ if value.len() > MAX_ATTRIBUTE_BYTES => None,
                // Task-list checkboxes are the only inputs Markdown makes; nothing else may pass.
                ("input", "type") if value != "checkbox" => None,
                ("code", "class") if !value.starts_with("language-") => None,
                ("span", "data-line") if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) => None,
                ("a", "href") => Some(in_page(value)),
                _ => Some(value.into()),
            });
        let allowed: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
        builder.url_schemes(allowed);
        builder
    })
}

/// A link to a place in the page points at the prefixed id.
fn in_page(href: &str) -> Cow<'_, str> {
    match href.strip_prefix('#') {
        Some(fragment) if !fragment.starts_with(ID_PREFIX) => format!("#{ID_PREFIX}{fragment}").into(),
        _ => href.into(),
    }
}
