//! Small pieces every page uses: loading, empty and error states, confirmations, and
//! timestamps. Forms' own pieces are in `forms`.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::error::AppError;

#[component]
pub fn Loading(#[prop(default = "Loading…")] label: &'static str) -> impl IntoView {
    view! { <p class="loading" role="status" aria-live="polite">{label}</p> }
}

/// What a page shows of what it loads: a loading note until `load` is done, the error
/// said plainly if it fails, otherwise `children` given the value. The resources
/// `load` awaits belong to this boundary, so a change to one keeps showing the old
/// value until the new one is ready.
#[component]
pub fn Loaded<T, Fut, Load, F, V>(load: Load, children: F) -> impl IntoView
where
    T: Send + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
    Load: Fn() -> Fut + Send + Sync + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let (load, children) = (Arc::new(load), Arc::new(children));
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || {
                let (load, children) = (load.clone(), children.clone());
                Suspend::new(async move {
                    match load().await {
                        Ok(value) => children(value).into_any(),
                        Err(error) => view! { <ErrorView error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// [`Loaded`] for a list: `empty` says what an empty one means and how to fill it.
#[component]
pub fn LoadedList<T, Fut, Load, F, V>(
    load: Load,
    /// The empty state's heading.
    empty_title: &'static str,
    /// The empty state's explanation.
    #[prop(into)]
    empty: ViewFn,
    children: F,
) -> impl IntoView
where
    T: Send + 'static,
    Fut: Future<Output = Result<Vec<T>, AppError>> + Send + 'static,
    Load: Fn() -> Fut + Send + Sync + 'static,
    F: Fn(Vec<T>) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let show = move |list: Vec<T>| {
        if list.is_empty() {
            let empty = empty.clone();
            view! { <EmptyState title=empty_title>{empty.run()}</EmptyState> }.into_any()
        } else {
            children(list).into_any()
        }
    };
    view! { <Loaded load children=show /> }
}

/// A failed load, said plainly, with a way forward for the common cases.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    // The page's status says what its content says (rendered before the response
    // starts: pages are rendered whole on the server).
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = axum::http::StatusCode::from_u16(error.status()) {
            response.set_status(status);
        }
    }
    let hint = match &error {
        AppError::Unauthorized => {
            // Back to this page after logging in.
            let here = use_location().pathname.get_untracked();
            let login = format!("/login?next={}", urlencode(&here));
            Some(view! { <A href=login attr:class="button primary">"Log in"</A> }.into_any())
        }
        AppError::NotFound(_) => {
            Some(view! { <A href="/projects" attr:class="button">"Back to your projects"</A> }.into_any())
        }
        _ => None,
    };
    let title = match &error {
        AppError::Unauthorized => "Sign in required",
        AppError::NotFound(_) => "Not found",
        AppError::Forbidden(_) => "Not allowed",
        _ => "Something went wrong",
    };
    view! {
        <section class="error-state" role="alert">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
            {hint}
        </section>
    }
}

/// A destructive or irreversible action, asked twice. `label`, the danger button, opens
/// a panel that says what will happen (`warning`, naming the thing) and holds
/// `children`: the form whose submit does it, its button naming the action in full
/// ("Delete branch feature-x"). A `<details>`, so it works before hydration and without
/// JavaScript; Cancel or Escape closes it, and without scripts Cancel is a link back to
/// the page. It closes when the page's address changes (another branch, say), so an open
/// question never outlives the page it was asked about.
#[component]
pub fn Confirm(#[prop(into)] label: TextProp, #[prop(into)] warning: TextProp, children: Children) -> impl IntoView {
    let panel = NodeRef::<leptos::html::Details>::new();
    let summary = NodeRef::<leptos::html::Summary>::new();
    let location = use_location();
    let here = move || {
        let search = location.search.get();
        let search = search.trim_start_matches('?');
        let path = location.pathname.get();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    let close = move || {
        if let (Some(panel), Some(summary)) = (panel.get_untracked(), summary.get_untracked()) {
            if panel.open() {
                panel.set_open(false);
                let _ = summary.focus();
            }
        }
    };
    let cancel = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        close();
    };
    let escape = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            close();
        }
    };
    // Not on its first run, at hydration: a question opened before then stays open.
    Effect::new(move |first: Option<()>| {
        location.pathname.track();
        location.search.track();
        if first.is_some() {
            if let Some(panel) = panel.get_untracked() {
                panel.set_open(false);
            }
        }
    });
    view! {
        <details class="confirm" node_ref=panel on:keydown=escape>
            <summary class="button small danger" node_ref=summary>{move || label.get().to_string()}</summary>
            <div class="confirm-panel">
                <p>{move || warning.get().to_string()}</p>
                <div class="confirm-actions">
                    {children()}
                    <a href=here class="button small" on:click=cancel>"Cancel"</a>
                </div>
            </div>
        </details>
    }
}

#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="empty-state">
            <h3>{title}</h3>
            {children()}
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! { <ErrorView error=AppError::NotFound("There is no page at this address.".into()) /> }
}

/// Colours for people in a document (cursor, selection and presence), readable on light
/// and dark backgrounds. Sorted by hue and then taken five at a time, so that each is far
/// around the colour wheel from the one before it (the editor gives way to the next).
pub const PALETTE: [&str; 12] = [
    "#f46036", "#00838f", "#c2185b", "#2e7d32", "#5e35b1", "#6d4c41", "#1e88e5", "#d7263d", "#1b998b", "#8e44ad",
    "#7a6f00", "#2e5eaa",
];

/// A person's own colour, the same in every document; the editor takes another from
/// `PALETTE` for a session while someone else present has it.
pub fn user_color(id: charter_types::UserId) -> &'static str {
    // UUIDv7 ends in random bits: the low ones pick the colour.
    PALETTE[(id.uuid().as_u128() % PALETTE.len() as u128) as usize]
}

/// The same text on the server and in the browser (a local time zone would differ and
/// break hydration).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[component]
pub fn Time(at: DateTime<Utc>) -> impl IntoView {
    view! { <time datetime=at.to_rfc3339()>{timestamp(at)}</time> }
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Text made safe for HTML text and quoted attributes, for the rare places that write
/// HTML by hand instead of through a view.
#[cfg(any(feature = "ssr", test))]
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_html_leaves_no_markup() {
        assert_eq!(
            super::escape_html(r#"</title><a href="x" b='y'>&"#),
            "&lt;/title&gt;&lt;a href=&quot;x&quot; b=&#39;y&#39;&gt;&amp;"
        );
    }

    #[test]
    fn urlencode_keeps_paths_readable() {
        assert_eq!(super::urlencode("/p/pay-ments/doc/1"), "/p/pay-ments/doc/1");
        assert_eq!(super::urlencode("/a b?c=d&e"), "/a%20b%3Fc%3Dd%26e");
    }
}
