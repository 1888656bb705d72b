//! Version bumps in a change request: a contract's API changes (breaking ones marked)
//! with the bump they propose, and the reviewer's confirmation of a bump, the
//! constitution's or a contract's, that merging then writes.

use charter_types::{Bump, ConfirmedBump, ContractReview, DocumentId};
use leptos::prelude::*;

use super::ConfirmBump;
use crate::forms::FormError;

/// Confirms a bump: the constitution's (`document` none) or a contract's.
#[component]
pub fn BumpForm(
    slug: String,
    number: i32,
    document: Option<DocumentId>,
    proposed: Bump,
    action: ServerAction<ConfirmBump>,
) -> impl IntoView {
    view! {
        <ActionForm action=action attr:class="row">
            <input type="hidden" name="slug" value=slug />
            <input type="hidden" name="number" value=number.to_string() />
            {document.map(|id| view! { <input type="hidden" name="document" value=id.to_string() /> })}
            <label>"Bump"
                <select name="bump">
                    {Bump::ALL.iter().rev().copied().map(|bump| view! {
                        <option value=bump.as_str() selected=bump == proposed>{bump.as_str()}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Confirm bump"</button>
        </ActionForm>
        <FormError action=action />
    }
}

/// Where the confirmation of a bump stands, and the version merging gives.
pub fn bump_status(confirmed: Option<ConfirmedBump>, next_version: Option<String>) -> impl IntoView {
    let next = next_version.unwrap_or_default();
    match confirmed {
        Some(ConfirmedBump { bump, by, stale: false }) => view! {
            <p role="status" class="confirmed">{format!("{by} confirmed a {bump} bump: merging makes it {next}.")}</p>
        }
        .into_any(),
        Some(ConfirmedBump { bump, by, stale: true }) => view! {
            <p role="status" class="notice">{format!("{by} confirmed a {bump} bump, but the change has moved on since: confirm again.")}</p>
        }
        .into_any(),
        None => view! { <p role="status" class="muted">"A reviewer confirms the bump before merging."</p> }.into_any(),
    }
}

/// A contract's API changes in a change request, the breaking ones marked, with the
/// version bump they propose and its confirmation.
#[component]
pub fn ApiChanges(
    api: ContractReview,
    slug: String,
    number: i32,
    document: DocumentId,
    /// The viewer may confirm bumps here.
    may_confirm: bool,
    /// It merged: the version it gave, not the one it would give.
    merged: bool,
    action: ServerAction<ConfirmBump>,
) -> impl IntoView {
    let version = match (&api.current_version, &api.proposed_version) {
        (Some(current), Some(proposed)) => Some(format!("info.version {current} → {proposed} proposed")),
        _ => None,
    };
    let too_small = api.written_too_small.then(|| {
        let (written, proposed) = (api.written_version.clone().unwrap_or_default(), api.proposed_version.clone());
        let bump = api.bump.map(|bump| bump.as_str().to_uppercase()).unwrap_or_default();
        view! {
            <p class="notice" role="note">
                {format!("This change writes info.version {written}, below the {} a {bump} change asks for: merging writes the confirmed version instead.", proposed.unwrap_or_default())}
            </p>
        }
    });
    // Only a semantic version is bumped: without one there is nothing to confirm or write.
    let confirmation = api.bump.filter(|_| api.proposed_version.is_some()).map(|proposed| {
        let status = match (merged, api.confirmed.clone(), api.next_version.clone()) {
            (true, Some(ConfirmedBump { bump, by, .. }), Some(version)) => view! {
                <p role="status" class="confirmed">{format!("{by} confirmed a {bump} bump: it merged as {version}.")}</p>
            }
            .into_any(),
            (_, confirmed, next) => bump_status(confirmed, next).into_any(),
        };
        view! {
            {status}
            {may_confirm.then(|| view! { <BumpForm slug=slug number=number document=Some(document) proposed=proposed action=action /> })}
        }
    });
    view! {
        <section class="api-changes" aria-label="API changes">
            <h4>"API changes"
                {api.bump.map(|bump| view! { " " <span class=format!("badge bump-{bump}")>{format!("{bump} bump")}</span> })}
            </h4>
            {version.map(|version| view! { <p class="muted">{version}</p> })}
            {too_small}
            <ul>
                {api.changes.into_iter().map(|change| {
                    let label = if change.breaking { "breaking" } else { change.impact.as_str() };
                    view! {
                        <li class=if change.breaking { "api-change breaking" } else { "api-change" }>
                            <span class=format!("badge impact-{}", change.impact)>{label}</span>
                            " " {change.change} " " <code class="muted">{change.rule}</code>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {confirmation}
        </section>
    }
}
