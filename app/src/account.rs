//! Signing up, logging in and out, and knowing who is signed in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::forms::FormError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: charter_types::UserId,
    pub username: String,
}

#[server]
pub async fn current_user() -> Result<Option<UserInfo>, AppError> {
    match crate::ssr::actor().await {
        Ok((_, actor)) => Ok(Some(UserInfo { id: actor.user_id, username: actor.username })),
        Err(AppError::Unauthorized) => Ok(None),
        Err(err) => Err(err),
    }
}

#[server]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<UserInfo, AppError> {
    use charter_backend::accounts::{self, Credentials};
    let state = crate::ssr::state()?;
    let user = accounts::login(&state, crate::ssr::client_ip()?, Credentials { username, password }).await?;
    accounts::start_session(&crate::ssr::session()?, &user).await?;
    leptos_axum::redirect(&accounts::redirect_after_login(next.as_deref()));
    Ok(UserInfo { id: user.id, username: user.username })
}

#[server]
pub async fn signup(username: String, password: String) -> Result<UserInfo, AppError> {
    use charter_backend::accounts::{self, Credentials};
    let state = crate::ssr::state()?;
    let user = accounts::signup(&state, crate::ssr::client_ip()?, Credentials { username, password }).await?;
    accounts::start_session(&crate::ssr::session()?, &user).await?;
    leptos_axum::redirect("/projects");
    Ok(UserInfo { id: user.id, username: user.username })
}

#[server]
pub async fn logout() -> Result<(), AppError> {
    charter_backend::accounts::end_session(&crate::ssr::state()?.db, &crate::ssr::session()?).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in, refreshed whenever someone logs in or out on this page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<UserInfo>, AppError>>,
    pub login: ServerAction<Login>,
    pub signup: ServerAction<Signup>,
    pub logout: ServerAction<Logout>,
}

impl Auth {
    pub fn provide() {
        let login = ServerAction::<Login>::new();
        let signup = ServerAction::<Signup>::new();
        let logout = ServerAction::<Logout>::new();
        let user = Resource::new(
            move || (login.version().get(), signup.version().get(), logout.version().get()),
            |_| current_user(),
        );
        provide_context(Auth { user, login, signup, logout });
    }
}

#[component]
pub fn UserMenu() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <div class="user-menu">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => view! {
                            <span class="user-name">{user.username}</span>
                            <A href="/settings/tokens">"API tokens"</A>
                            <ActionForm action=auth.logout attr:class="inline">
                                <button type="submit" class="link">"Log out"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! {
                            <A href="/login">"Log in"</A>
                            <A href="/signup" attr:class="button small primary">"Sign up"</A>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let next = move || use_query_map().read().get("next");
    view! {
        <Title text="Log in" />
        <section class="card narrow">
            <h1>"Log in"</h1>
            <ActionForm action=auth.login attr:class="stack">
                <input type="hidden" name="next" value=next />
                <label>"Username"
                    <input name="username" autocomplete="username" required autofocus />
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <FormError action=auth.login />
                <button type="submit" class="primary" disabled=move || auth.login.pending().get()>"Log in"</button>
            </ActionForm>
            <p class="muted">"New to Charter? " <A href="/signup">"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = expect_context::<Auth>();
    view! {
        <Title text="Sign up" />
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <ActionForm action=auth.signup attr:class="stack">
                <label>"Username"
                    <input name="username" autocomplete="username" required minlength="3" maxlength="32"
                        pattern="[A-Za-z0-9_.\\-]+" autofocus aria-describedby="username-help" />
                </label>
                <small id="username-help" class="muted">"3 to 32 letters, digits, '_', '-' or '.'"</small>
                <label>"Password"
                    <input type="password" name="password" autocomplete="new-password" required minlength="15"
                        aria-describedby="password-help" />
                </label>
                <small id="password-help" class="muted">"At least 15 characters, and not a common one: a few unrelated words make a good password."</small>
                <FormError action=auth.signup />
                <button type="submit" class="primary" disabled=move || auth.signup.pending().get()>"Sign up"</button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}
