//! A project's outgoing webhooks, for its owners: register an address for some events
//! (its signing secret shown once), test it, pause or remove it, and read each one's
//! delivery log, retrying what failed.

use charter_types::{Permission, Webhook, WebhookCreated, WebhookDelivery, WebhookEvent};
use leptos::prelude::*;

use crate::components::{Loaded, Time};
use crate::context::ProjectCtx;
use crate::error::AppError;
use crate::forms::FormError;

/// The events an owner may subscribe to, as the form offers them.
const EVENTS: [(WebhookEvent, &str); 4] = [
    (WebhookEvent::ChangeRequestOpened, "A change request is opened"),
    (WebhookEvent::ChangeRequestMerged, "A change request is merged"),
    (WebhookEvent::IncidentRegression, "An incident comes back after its requirement merged (regression)"),
    (WebhookEvent::RequirementAddedFromIncident, "A requirement written from an incident is merged"),
];

#[cfg(feature = "ssr")]
fn webhook_id(id: &str) -> Result<charter_types::WebhookId, AppError> {
    crate::ssr::parse_id(id, "webhook")
}

#[server]
pub async fn list_webhooks(slug: String) -> Result<Vec<Webhook>, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    Ok(charter_backend::webhooks::registry::list(&state.db, &project).await?)
}

#[server]
pub async fn create_webhook(
    slug: String,
    url: String,
    #[server(default)] events: Vec<String>,
    description: String,
) -> Result<WebhookCreated, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    let events = events
        .iter()
        .map(|event| event.parse().map_err(|unknown: charter_types::Unknown| AppError::Invalid(unknown.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let new = charter_types::NewWebhook { url, events, description: Some(description) };
    let allow_private = state.settings.webhooks_allow_private;
    Ok(charter_backend::webhooks::registry::create(&state.db, &project, new, allow_private).await?)
}

#[server]
pub async fn set_webhook_active(slug: String, id: String, active: bool) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    let update = charter_types::UpdateWebhook { url: None, events: None, description: None, active: Some(active) };
    let allow_private = state.settings.webhooks_allow_private;
    charter_backend::webhooks::registry::update(&state.db, &project, webhook_id(&id)?, update, allow_private).await?;
    Ok(())
}

#[server]
pub async fn delete_webhook(slug: String, id: String) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    charter_backend::webhooks::registry::delete(&state.db, &project, webhook_id(&id)?).await?;
    Ok(())
}

#[server]
pub async fn ping_webhook(slug: String, id: String) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    charter_backend::webhooks::registry::ping(&state.db, &project, webhook_id(&id)?).await?;
    Ok(())
}

#[server]
pub async fn webhook_deliveries(slug: String, id: String) -> Result<Vec<WebhookDelivery>, AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    Ok(charter_backend::webhooks::registry::deliveries(&state.db, &project, webhook_id(&id)?).await?)
}

#[server]
pub async fn retry_delivery(slug: String, id: String, delivery: String) -> Result<(), AppError> {
    let (state, project) = crate::context::resolve(&slug, Permission::Manage).await?;
    let delivery = crate::ssr::parse_id(&delivery, "delivery")?;
    charter_backend::webhooks::registry::retry(&state.db, &project, webhook_id(&id)?, delivery).await?;
    Ok(())
}

/// The webhooks section of the integrations page (owners only).
#[component]
pub fn WebhooksSection() -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let create = ServerAction::<CreateWebhook>::new();
    let toggle = ServerAction::<SetWebhookActive>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let list = Resource::new(
        move || (ctx.slug.get(), create.version().get(), toggle.version().get(), delete.version().get()),
        |(slug, ..)| list_webhooks(slug),
    );
    let created = move || {
        create.value().get().and_then(Result::ok).map(|created| view! {
            <div class="notice success" role="status">
                <p>{format!("Webhook added for {}. Its signing secret, shown only now:", created.webhook.url)}</p>
                <input readonly class="copyable" value=created.secret />
                <p class="muted">"Verify each delivery's " <code>"webhook-signature"</code> " with it, as the Standard Webhooks libraries do."</p>
            </div>
        })
    };
    view! {
        <Show when=move || ctx.allows(Permission::Manage)>
            <section aria-labelledby="webhooks" class="webhooks">
                <h2 id="webhooks">"Outgoing webhooks"</h2>
                <p class="muted">"Charter tells other systems what happens here: each delivery is a signed JSON POST (Standard Webhooks), retried with growing waits for about eight hours."</p>
                {created}
                <FormError action=toggle />
                <FormError action=delete />
                <Loaded load=move || async move { list.await } let:webhooks>
                    <ul class="webhook-list">
                        {webhooks.into_iter().map(|webhook| view! { <WebhookItem webhook toggle delete /> }).collect_view()}
                    </ul>
                </Loaded>
                <details class="new-webhook">
                    <summary>"Add a webhook"</summary>
                    <ActionForm action=create attr:class="stack">
                        <input type="hidden" name="slug" value=move || ctx.slug.get() />
                        <label>"Address" <input type="url" name="url" required maxlength="2000" placeholder="https://hooks.example.com/charter" /></label>
                        <label>"Description" <input name="description" maxlength="200" placeholder="Release channel" /></label>
                        <fieldset>
                            <legend>"Send"</legend>
                            {EVENTS.into_iter().map(|(event, label)| view! {
                                <label><input type="checkbox" name="events[]" value=event.as_str() /> " " {label}</label>
                            }).collect_view()}
                        </fieldset>
                        <FormError action=create />
                        <button type="submit" class="primary">"Add webhook"</button>
                    </ActionForm>
                </details>
            </section>
        </Show>
    }
}

#[component]
fn WebhookItem(
    webhook: Webhook,
    toggle: ServerAction<SetWebhookActive>,
    delete: ServerAction<DeleteWebhook>,
) -> impl IntoView {
    let ctx = expect_context::<ProjectCtx>();
    let id = webhook.id.to_string();
    let ping = ServerAction::<PingWebhook>::new();
    let retry = ServerAction::<RetryDelivery>::new();
    let open = RwSignal::new(false);
    let log = {
        let id = id.clone();
        Resource::new(
            move || (open.get(), ping.version().get(), retry.version().get()),
            move |(open, ..)| {
                let (slug, id) = (ctx.slug.get_untracked(), id.clone());
                async move {
                    match open {
                        true => webhook_deliveries(slug, id).await,
                        false => Ok(Vec::new()),
                    }
                }
            },
        )
    };
    let events = webhook.events.iter().map(|event| event.as_str()).collect::<Vec<_>>().join(", ");
    let slug = ctx.slug.get_untracked();
    // Each form keeps its own copy of what it sends.
    let hidden = move || {
        let (slug, id) = (ctx.slug.get_untracked(), webhook.id.to_string());
        view! { <input type="hidden" name="slug" value=slug /> <input type="hidden" name="id" value=id /> }
    };
    view! {
        <li class="card webhook" data-active=webhook.active.to_string()>
            <p><strong>{webhook.url.clone()}</strong> " "
                {(!webhook.active).then(|| view! { <span class="badge">"paused"</span> })}</p>
            {(!webhook.description.is_empty()).then(|| view! { <p>{webhook.description.clone()}</p> })}
            <p class="muted">{events} " · added " <Time at=webhook.created_at /></p>
            <div class="row">
                <ActionForm action=toggle attr:class="inline-form">
                    {hidden()}
                    <input type="hidden" name="active" value=(!webhook.active).to_string() />
                    <button type="submit" class="small">{if webhook.active { "Pause" } else { "Resume" }}</button>
                </ActionForm>
                <ActionForm action=ping attr:class="inline-form">
                    {hidden()}
                    <button type="submit" class="small">"Send a test"</button>
                </ActionForm>
                <ActionForm action=delete attr:class="inline-form">
                    {hidden()}
                    <button type="submit" class="small danger">"Remove"</button>
                </ActionForm>
            </div>
            <FormError action=ping />
            <FormError action=retry />
            <details on:toggle=move |_| open.set(true)>
                <summary>"Deliveries"</summary>
                <Loaded load=move || async move { log.await } let:deliveries>
                    {if deliveries.is_empty() {
                        view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
                    } else {
                        let (slug, id) = (slug.clone(), id.clone());
                        view! {
                            <table class="deliveries">
                                <thead><tr><th>"Event"</th><th>"State"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Queued"</th><th></th></tr></thead>
                                <tbody>
                                    {deliveries.into_iter().map(|delivery| {
                                        let answer = delivery.last_status.map(|status| status.to_string())
                                            .or(delivery.last_error.clone()).unwrap_or_else(|| "—".into());
                                        let retriable = delivery.state != charter_types::DeliveryState::Delivered;
                                        let (slug, id) = (slug.clone(), id.clone());
                                        view! {
                                            <tr>
                                                <td><code>{delivery.event.as_str()}</code></td>
                                                <td>{delivery.state.as_str()}</td>
                                                <td>{delivery.attempts}</td>
                                                <td>{answer}</td>
                                                <td><Time at=delivery.created_at /></td>
                                                <td>{retriable.then(|| view! {
                                                    <ActionForm action=retry attr:class="inline-form">
                                                        <input type="hidden" name="slug" value=slug />
                                                        <input type="hidden" name="id" value=id />
                                                        <input type="hidden" name="delivery" value=delivery.id.to_string() />
                                                        <button type="submit" class="small">"Retry now"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                </Loaded>
            </details>
        </li>
    }
}
