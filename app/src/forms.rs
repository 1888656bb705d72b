//! What a form says after it is sent: its error next to it, whether the page ran it
//! (JavaScript) or the browser posted it (before hydration, or without scripts).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The session key under which the server keeps a plain form post's error for the page
/// the browser is sent back to.
pub const FLASH_KEY: &str = "charter.form_error";

/// A form's error, kept for one page view: the browser posted the form itself, so the
/// server answered by sending it back to the form's page rather than with the error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormFlash {
    /// The server function the form posted to: its forms show the error.
    pub path: String,
    pub error: AppError,
}

/// Takes the error kept for this page view, if any: it is shown once. A session without
/// one is left untouched (removing marks it changed, and saving it on every page view
/// could write back a session that a logout elsewhere just ended).
#[server]
pub async fn take_form_error() -> Result<Option<FormFlash>, AppError> {
    let session = crate::ssr::session()?;
    let unreadable = |err: tower_sessions::session::Error| {
        tracing::error!(error = %err, "could not read a form's error from the session");
        AppError::Internal
    };
    let kept = session.get::<FormFlash>(FLASH_KEY).await.map_err(unreadable)?;
    if kept.is_some() {
        // A visitor's session carried only the error: it goes with it.
        if charter_backend::accounts::signed_in(&session).await? {
            session.remove_value(FLASH_KEY).await.map_err(unreadable)?;
        } else {
            session.flush().await.map_err(unreadable)?;
        }
    }
    Ok(kept)
}

/// The kept error of the page as first loaded, and whether that page was left (after
/// which it is stale).
#[derive(Clone)]
pub struct Flash {
    kept: Resource<Result<Option<FormFlash>, AppError>>,
    left: Arc<AtomicBool>,
}

/// Gives the forms inside the error kept for this page view (inside the router, which
/// says when the page is left).
#[component]
pub fn KeptFormErrors(children: Children) -> impl IntoView {
    Flash::provide();
    children()
}

impl Flash {
    fn provide() {
        let flash = Flash { kept: Resource::new(|| (), |_| take_form_error()), left: Arc::default() };
        let left = flash.left.clone();
        let location = leptos_router::hooks::use_location();
        Effect::new(move |first: Option<()>| {
            location.pathname.track();
            if first.is_some() {
                left.store(true, Ordering::Relaxed);
            }
        });
        provide_context(flash);
    }

    /// The kept error for the forms that post to `path` (in a list of alike forms,
    /// each of them shows it: which one was sent is not known).
    async fn for_form(&self, path: &str) -> Option<AppError> {
        let kept = self.kept.await.ok().flatten().filter(|kept| kept.path == path)?;
        (!self.left.load(Ordering::Relaxed)).then_some(kept.error)
    }
}

/// A form's last error, announced to screen readers: from its last submission, or the
/// one the server kept when the browser posted the form itself.
#[component]
pub fn FormError<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    let flash = expect_context::<Flash>();
    view! {
        <p class="form-error" role="alert" aria-live="assertive">
            <Transition fallback=|| ()>
                {move || {
                    let flash = flash.clone();
                    Suspend::new(async move {
                        let kept = flash.for_form(S::PATH).await;
                        // Only this page's own submissions: the router also seeds an
                        // action's value from an address's `__err`, which anyone can write.
                        match action.version().get() {
                            0 => kept.map(|err| err.to_string()).unwrap_or_default(),
                            _ => action.value().with(|result| match result {
                                Some(Err(err)) => err.to_string(),
                                _ => String::new(),
                            }),
                        }
                    })
                }}
            </Transition>
        </p>
    }
}

/// How many times `action` has succeeded. A list that reloads on this, rather than on
/// every submission, keeps the forms inside it (and what was typed in them) after a
/// failure, and empties them after a success.
pub fn successes<S>(action: ServerAction<S>) -> ReadSignal<usize>
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let count = RwSignal::new(0);
    Effect::new(move |_| {
        if action.version().get() > 0 && action.value().with_untracked(|value| matches!(value, Some(Ok(_)))) {
            count.update(|n| *n += 1);
        }
    });
    count.read_only()
}
