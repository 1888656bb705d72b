//! Charter's user interface. Rendered on the server, then hydrated in the browser from
//! this same crate built to WebAssembly. Each module owns one area of the product: its
//! pages, and the server functions those pages call.

#![recursion_limit = "256"]

pub mod account;
pub mod activity;
pub mod api_docs;
pub mod changes;
pub mod checks;
pub mod components;
pub mod conformance;
pub mod context;
pub mod diff;
pub mod documents;
pub mod duplicates;
pub mod error;
pub mod exchange;
pub mod forms;
pub mod history;
pub mod incidents;
pub mod integrations;
pub mod members;
pub mod overview;
pub mod projects;
pub mod questions;
pub mod search;
pub mod search_settings;
#[cfg(feature = "ssr")]
mod ssr;
pub mod structure;
pub mod tokens;
pub mod webhooks;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use crate::account::{Auth, LoginPage, SignupPage, UserMenu};
use crate::components::NotFound;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Auth::provide();
    view! {
        <Title formatter=page_title />
        <Router>
            <forms::KeptFormErrors>
            <SkipLinks />
            <FocusHeadingOnNavigate />
            <header class="site-header">
                <A href="/" attr:class="brand">"Charter"</A>
                <nav class="site-nav" aria-label="Main">
                    <A href="/projects">"Projects"</A>
                    <A href="/api-docs">"API"</A>
                </nav>
                <UserMenu />
            </header>
            <main id="main" tabindex="-1">
                // Rendered whole on the server: lists and errors (with their status) are
                // in the HTML, before any script runs or without one.
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") ssr=SsrMode::Async view=Home />
                    <Route path=path!("/login") ssr=SsrMode::Async view=LoginPage />
                    <Route path=path!("/signup") ssr=SsrMode::Async view=SignupPage />
                    <Route path=path!("/projects") ssr=SsrMode::Async view=projects::ProjectListPage />
                    <ParentRoute path=path!("/p/:slug") ssr=SsrMode::Async view=projects::ProjectPage>
                        <Route path=path!("") view=overview::ProjectOverview />
                        <Route path=path!("doc/:doc") view=documents::DocumentPage />
                        <Route path=path!("doc/:doc/at/:version") view=history::DocumentAtVersionPage />
                        <Route path=path!("activity") view=activity::ActivityPage />
                        <Route path=path!("members") view=members::MembersPage />
                        <Route path=path!("trash") view=documents::TrashPage />
                        <Route path=path!("changes") view=changes::ChangesPage />
                        <Route path=path!("changes/:number") view=changes::ChangePage />
                        <Route path=path!("history") view=history::HistoryPage />
                        <Route path=path!("requirements") view=structure::RequirementsPage />
                        <Route path=path!("req/:key") view=structure::RequirementPage />
                        <Route path=path!("questions") view=questions::QuestionsPage />
                        <Route path=path!("checks") view=checks::ChecksPage />
                        <Route path=path!("search") view=search::SearchPage />
                        <Route path=path!("duplicates") view=duplicates::DuplicatesPage />
                        <Route path=path!("search-settings") view=search_settings::SearchSettingsPage />
                        <Route path=path!("incidents") view=incidents::IncidentsPage />
                        <Route path=path!("incidents/:id") view=incidents::IncidentPage />
                        <Route path=path!("integrations") view=integrations::IntegrationsPage />
                        <Route path=path!("exchange") view=exchange::ExchangePage />
                    </ParentRoute>
                    <Route path=path!("/incidents/:id") ssr=SsrMode::Async view=incidents::IncidentLinkPage />
                    <Route path=path!("/settings/tokens") ssr=SsrMode::Async view=tokens::TokensPage />
                    <Route path=path!("/api-docs") ssr=SsrMode::Async view=api_docs::ApiDocsPage />
                </Routes>
            </main>
            </forms::KeptFormErrors>
        </Router>
    }
}

/// The first stops of the keyboard: past the header to the page, and on a document's
/// page past the sidebar to its editor.
#[component]
fn SkipLinks() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    // `/p/{slug}/doc/{id}`, not a version of it.
    let on_document = move || {
        let path = location.pathname.get();
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        matches!(segments.as_slice(), ["", "p", _, "doc", _])
    };
    view! {
        <a class="skip-link" href="#main" on:click=move |ev| focus_target(ev, "main")>"Skip to content"</a>
        <Show when=on_document>
            <a class="skip-link" href="#editor" on:click=move |ev| focus_target(ev, "editor")>"Skip to the editor"</a>
        </Show>
    }
}

/// Moves focus to the element a skip link names (the router would only scroll to it).
fn focus_target(ev: leptos::ev::MouseEvent, id: &str) {
    use leptos::wasm_bindgen::JsCast;
    let target =
        document().get_element_by_id(id).and_then(|target| target.dyn_into::<leptos::web_sys::HtmlElement>().ok());
    if let Some(target) = target {
        ev.prevent_default();
        let _ = target.focus();
    }
}

/// After a move to another page inside the app, focus goes to the new page's heading,
/// where a page load would have put a screen reader: at the start of what is new.
#[component]
fn FocusHeadingOnNavigate() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |first: Option<()>| {
        location.pathname.track();
        if first.is_some() {
            focus_new_heading();
        }
    });
}

fn focus_new_heading() {
    // The heading of a page that loads its data appears when the data does.
    #[cfg(feature = "hydrate")]
    request_animation_frame(|| focus_heading(40));
}

#[cfg(feature = "hydrate")]
fn focus_heading(tries: u32) {
    use wasm_bindgen::JsCast;
    let heading = document()
        .query_selector("main h1")
        .ok()
        .flatten()
        .and_then(|heading| heading.dyn_into::<web_sys::HtmlElement>().ok());
    match heading {
        Some(heading) => {
            if !heading.has_attribute("tabindex") {
                let _ = heading.set_attribute("tabindex", "-1");
            }
            let _ = heading.focus();
        }
        None if tries > 0 => set_timeout(move || focus_heading(tries - 1), std::time::Duration::from_millis(50)),
        None => {}
    }
}

/// The window title for a page's own title. leptos_meta writes the server's `<title>`
/// into the `<head>` unescaped, so on the server it is escaped here; in the browser it
/// is set as text and must stay as it is.
fn page_title(title: String) -> String {
    let title = if title.is_empty() { "Charter".to_owned() } else { format!("{title} · Charter") };
    #[cfg(feature = "ssr")]
    let title = components::escape_html(&title);
    title
}

#[component]
fn Home() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Specifications, kept true."</h1>
            <p class="lede">
                "Charter keeps your project's constitution, feature specs, plans and tasks as the durable "
                "source of truth: written together, reviewed like code, and readable by people and coding "
                "agents alike."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(_)) => view! { <A href="/projects" attr:class="button primary">"Go to your projects"</A> }.into_any(),
                        _ => view! {
                            <div class="actions">
                                <A href="/signup" attr:class="button primary">"Create an account"</A>
                                <A href="/login" attr:class="button">"Log in"</A>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The WebAssembly entry point: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets tests (and styles) tell a live page from one still waiting for its script.
    if let Some(body) = web_sys::window().and_then(|window| window.document()).and_then(|doc| doc.body()) {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn the_server_escapes_page_titles() {
        let title = super::page_title(r#"x</title><meta http-equiv="refresh" content="0">"#.into());
        assert_eq!(title, "x&lt;/title&gt;&lt;meta http-equiv=&quot;refresh&quot; content=&quot;0&quot;&gt; · Charter");
        assert_eq!(super::page_title(String::new()), "Charter");
    }
}
