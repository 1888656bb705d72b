//! Personal API tokens: create (the secret is shown once), list and revoke.

use charter_types::{ApiToken, Scope};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::{LoadedList, Time};
use crate::error::AppError;
use crate::forms::FormError;

/// What a scope allows, as the page explains it.
fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "Read projects and documents",
        Scope::Write => "Change projects and documents",
        Scope::IncidentsWrite => "Post incidents and telemetry",
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTokenView {
    pub name: String,
    pub token: String,
}

#[server]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let tokens = charter_backend::tokens::list(&state.db, &actor).await?;
    Ok(tokens)
}

#[server]
pub async fn create_token(name: String, #[server(default)] scopes: Vec<String>) -> Result<NewTokenView, AppError> {
    use charter_backend::tokens::{self, NewToken};
    let (state, actor) = crate::ssr::actor().await?;
    let scopes = scopes
        .iter()
        .map(|scope| scope.parse().map_err(|unknown: charter_types::Unknown| AppError::Invalid(unknown.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let created = tokens::create(&state.db, &actor, NewToken { name: name.clone(), scopes }).await?;
    Ok(NewTokenView { name: name.trim().to_owned(), token: created.token })
}

#[server]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let (state, actor) = crate::ssr::actor().await?;
    let id = crate::ssr::parse_id(&id, "token")?;
    charter_backend::tokens::revoke(&state.db, &actor, id).await?;
    Ok(())
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    view! {
        <Title text="API tokens" />
        <div class="page-head">
            <h1>"API tokens"</h1>
            <p class="muted">"Tools and coding agents call the API with " <code>"Authorization: Bearer <token>"</code> ". "
                <a href="/api-docs">"API reference"</a></p>
        </div>
        <div class="two-column">
            <section aria-labelledby="your-tokens">
                <h2 id="your-tokens">"Your tokens"</h2>
                <FormError action=revoke />
                <LoadedList
                    load=move || async move { tokens.await }
                    empty_title="No tokens"
                    empty=|| view! { <p>"Create one to use the API from a script or an agent."</p> }
                    let:list
                >
                    <ul class="card-list">
                        {list.into_iter().map(|token| view! {
                            <li class="card token">
                                <strong>{token.name.clone()}</strong>
                                <code>{format!("charter_{}_…", token.prefix)}</code>
                                <span>{token.scopes.iter().map(|scope| view! { <span class="badge">{scope.as_str()}</span> }).collect_view()}</span>
                                <small class="muted">"Created " <Time at=token.created_at />
                                    {match token.last_used_at {
                                        Some(at) => view! { ", last used " <Time at /> }.into_any(),
                                        None => view! { ", never used" }.into_any(),
                                    }}
                                </small>
                                <ActionForm action=revoke attr:class="inline">
                                    <input type="hidden" name="id" value=token.id.to_string() />
                                    <button type="submit" class="small danger">"Revoke"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                </LoadedList>
            </section>
            <section class="card" aria-labelledby="new-token">
                <h2 id="new-token">"New token"</h2>
                <ActionForm action=create attr:class="stack">
                    <label>"Name" <input name="name" required maxlength="100" placeholder="CI drift check" /></label>
                    <fieldset>
                        <legend>"Scopes"</legend>
                        {Scope::ALL.iter().map(|&scope| view! {
                            <label class="check"><input type="checkbox" name="scopes[]" value=scope.as_str() checked=scope == Scope::Read />
                                <code>{scope.as_str()}</code> " " {scope_label(scope)}</label>
                        }).collect_view()}
                    </fieldset>
                    <FormError action=create />
                    <button type="submit" class="primary" disabled=move || create.pending().get()>"Create token"</button>
                </ActionForm>
                {move || create.value().get().and_then(Result::ok).map(|created| view! {
                    <div class="notice success" role="status">
                        <p>"Token " <strong>{created.name}</strong> " created. Copy it now: it will not be shown again."</p>
                        <input class="secret" readonly value=created.token aria-label="New API token" />
                    </div>
                })}
            </section>
        </div>
    }
}
