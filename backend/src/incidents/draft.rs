//! Turning an incident into a requirement change: a branch `incident/<short id>` from
//! `main` holding a new requirement in a chosen spec, or an amendment of a linked one,
//! and a change request to `main` for review. The wording comes from the configured chat
//! model (marked as its proposal) or from the template; either way it carries a
//! regression scenario and a provenance line. Once the change request merges, the draft
//! is the requirement's provenance.
//!
//! A draft is made in steps that each hold the database only briefly: its requirement ID
//! is reserved (one draft of an incident in the making, IDs handed out one at a time per
//! project), the branch is written, and the change request is opened in the transaction
//! that records the draft. A draft that fails on the way takes its branch and its
//! reservation with it; one interrupted by a crash leaves a reservation that expires.

use charter_types::{DocumentId, DraftChangeRequest, DraftCreated, DraftMode, IncidentId, Kind, NewDraft, Permission};
use uuid::Uuid;

use super::compose::{self, Facts, Form};
use super::{proposal, triage};
use crate::access::Actor;
use crate::authorization::ProjectAccess;
use crate::branches::{self, Branch};
use crate::change_requests::{self, NewChangeRequest};
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::structure::parse::parse;
use crate::structure::{requirements, splice};
use crate::{audit, content, AppState};

/// How long a draft may take to be made before its reservation counts as abandoned.
const RESERVATION_EXPIRES: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Where the draft goes: the spec, and the requirement it amends.
struct Target {
    document_id: DocumentId,
    /// The requirement's ID on `main` (amendments).
    amends: Option<String>,
}

/// A draft's reserved place: its row, and the requirement ID it writes.
struct Reserved {
    id: Uuid,
    key: String,
}

/// A draft being made, once reserved.
struct Making<'a> {
    state: &'a AppState,
    project: &'a ProjectAccess,
    id: IncidentId,
    facts: Facts,
    target: Target,
    reserved: Reserved,
}

/// What wrote the draft's words: the chat model (its name), or the template and why.
struct Wording {
    proposed_by: Option<String>,
    fallback: Option<String>,
}

/// Drafts the change `request` asks for; see the module's description. It runs to its
/// end even if the caller goes away, so that what it made is either whole or removed.
pub async fn draft(state: &AppState, actor: &Actor, id: IncidentId, request: NewDraft) -> Result<DraftCreated> {
    let (state, actor) = (state.clone(), actor.clone());
    tokio::spawn(async move { make(&state, &actor, id, request).await })
        .await
        .map_err(|_| Error::internal("making a draft stopped"))?
}

async fn make(state: &AppState, actor: &Actor, id: IncidentId, request: NewDraft) -> Result<DraftCreated> {
    let db = &state.db;
    let (row, project) = triage::authorized(db, actor, id, Permission::Write).await?;
    let main = branches::resolve(db, project.project(), branches::MAIN).await?;
    // Requirement identities and keys as `main` has them now.
    requirements::refresh(db, project.project(), main).await?;
    let target = target(db, &project, id, &request).await?;
    let reserved = reserve(db, &project, id, &target).await?;
    let making = Making { state, project: &project, id, facts: row.facts(), target, reserved };
    // The id's last (random) hex digits: its first ones are a timestamp, shared by
    // incidents of the same minute.
    let short = id.to_string().replace('-', "")[24..].to_owned();
    let mut branch = None;
    let made = async {
        let made = branches::create_numbered(db, &project, &format!("incident/{short}"), branches::MAIN).await?;
        let branch = branch.insert(made);
        let wording = making.write(branch).await?;
        making.record(branch, wording).await
    }
    .await;
    if made.is_err() {
        // The branch first: the reservation keeps its ID taken until the branch is gone.
        // What fails here is logged; the caller hears why the draft failed.
        if let Some(branch) = branch {
            if let Err(cleanup) = branches::delete(db, &project, &branch.name).await {
                cleanup.log();
            }
        }
        let released =
            sqlx::query("DELETE FROM incident_drafts WHERE id = $1").bind(making.reserved.id).execute(db).await;
        if let Err(cleanup) = released {
            Error::from(cleanup).log();
        }
    }
    made
}

/// The spec and requirement `request` names, or those the incident is linked to.
async fn target(db: &sqlx::PgPool, project: &ProjectAccess, id: IncidentId, request: &NewDraft) -> Result<Target> {
    // A requirement of `main` in a live spec: the one named, else the first linked.
    let requirement: Option<(String, DocumentId)> = sqlx::query_as(
        "SELECT br.key, br.document_id FROM branches b
         JOIN branch_requirements br ON br.branch_id = b.id
         WHERE b.project_id = $2 AND b.name = 'main'
           AND br.requirement_id = coalesce($3, (SELECT requirement_id FROM incident_links
                                                 WHERE incident_id = $1 AND requirement_id IN
                                                     (SELECT requirement_id FROM branch_requirements WHERE branch_id = b.id)
                                                 ORDER BY linked_at LIMIT 1))",
    )
    .bind(id)
    .bind(project.project())
    .bind(request.requirement_id)
    .fetch_optional(db)
    .await?;
    let (document_id, amends) = match (request.mode, requirement) {
        (DraftMode::Amend, Some((key, document_id))) => (document_id, Some(key)),
        (DraftMode::Amend, None) => {
            return Err(Error::Invalid(match request.requirement_id {
                Some(_) => "that requirement is not on this project's main branch".into(),
                None => "link the incident to the requirement to amend, or name it (requirement_id)".into(),
            }))
        }
        (DraftMode::New, linked) => {
            let chosen = request.document_id.or(linked.map(|(_, document)| document));
            let document_id = chosen
                .ok_or_else(|| Error::Invalid("choose the spec the new requirement goes into (document_id)".into()))?;
            (document_id, None)
        }
    };
    let kind: Option<Kind> = sqlx::query_scalar(
        "SELECT d.kind FROM documents d
         JOIN branches b ON b.project_id = d.project_id AND b.name = 'main'
         JOIN branch_documents bd ON bd.branch_id = b.id AND bd.document_id = d.id AND bd.deleted_at IS NULL
         WHERE d.id = $1 AND d.project_id = $2",
    )
    .bind(document_id)
    .bind(project.project())
    .fetch_optional(db)
    .await?;
    match kind {
        Some(Kind::Spec) => Ok(Target { document_id, amends }),
        Some(_) => Err(Error::Invalid("requirements drafted from incidents go into a spec".into())),
        None => Err(Error::Invalid("that spec is not on this project's main branch".into())),
    }
}

/// Reserves the draft: none of the incident's may be under way or under review, and a
/// new requirement gets the next ID of its spec's series, unused anywhere in the project
/// (its branches, and drafts being made).
async fn reserve(db: &sqlx::PgPool, project: &ProjectAccess, id: IncidentId, target: &Target) -> Result<Reserved> {
    let mut tx = project.begin(db).await?;
    crate::claims::lock_incident_drafts(&mut tx, project.project()).await?;
    sqlx::query("DELETE FROM incident_drafts WHERE change_request_id IS NULL AND created_at < now() - $1::interval")
        .bind(RESERVATION_EXPIRES)
        .execute(&mut *tx)
        .await?;
    let busy: Option<Option<i32>> = sqlx::query_scalar(
        "SELECT c.number FROM incident_drafts d LEFT JOIN change_requests c ON c.id = d.change_request_id
         WHERE d.incident_id = $1 AND (d.change_request_id IS NULL OR c.state = 'open') LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match busy {
        Some(Some(number)) => {
            return Err(Error::Conflict(format!(
                "this incident's draft is already under review in change request #{number}"
            )))
        }
        Some(None) => return Err(Error::Conflict("a draft of this incident is being made; try again shortly".into())),
        None => {}
    }
    let key = match &target.amends {
        Some(key) => key.clone(),
        None => {
            let taken: Vec<String> = sqlx::query_scalar(
                "SELECT br.key FROM branch_requirements br JOIN branches b ON b.id = br.branch_id WHERE b.project_id = $1
                 UNION SELECT d.key FROM incident_drafts d JOIN incidents i ON i.id = d.incident_id
                 WHERE i.project_id = $1 AND d.change_request_id IS NULL",
            )
            .bind(project.project())
            .fetch_all(&mut *tx)
            .await?;
            let like: Option<String> = sqlx::query_scalar(
                "SELECT br.key FROM branch_requirements br JOIN branches b ON b.id = br.branch_id
                 WHERE b.project_id = $1 AND b.name = 'main' AND br.document_id = $2 ORDER BY br.line DESC LIMIT 1",
            )
            .bind(project.project())
            .bind(target.document_id)
            .fetch_optional(&mut *tx)
            .await?;
            compose::next_key(like.as_deref(), taken.iter().map(String::as_str))
        }
    };
    let reserved = Uuid::now_v7();
    let mode = if target.amends.is_some() { DraftMode::Amend } else { DraftMode::New };
    sqlx::query("INSERT INTO incident_drafts (id, incident_id, mode, key, created_by) VALUES ($1, $2, $3, $4, $5)")
        .bind(reserved)
        .bind(id)
        .bind(mode)
        .bind(&key)
        .bind(project.actor().user_id)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)
        .map_err(|err| match err.is_unique_violation("incident_drafts_making") {
            true => Error::Conflict("a draft of this incident is being made; try again shortly".into()),
            false => err,
        })?;
    tx.commit().await?;
    Ok(Reserved { id: reserved, key })
}

impl Making<'_> {
    /// Writes the draft's requirement into the spec on `branch`.
    async fn write(&self, branch: &Branch) -> Result<Wording> {
        let Making { state, project, facts, target, .. } = self;
        let key = self.reserved.key.as_str();
        let place = DocKey::new(branch.id, target.document_id);
        let stored = content::read_current(&state.collab, &mut *state.db.acquire().await?, place).await?;
        // Written with `\n` and given back as the spec writes its lines.
        let crlf = stored.contains("\r\n");
        let text = stored.replace("\r\n", "\n");
        let structure = parse(&text);
        let current = match &target.amends {
            Some(amended) => Some(
                structure
                    .requirements
                    .iter()
                    .find(|requirement| requirement.key.eq_ignore_ascii_case(amended))
                    .ok_or_else(|| Error::Conflict(format!("{amended} is no longer in that spec")))?,
            ),
            None => None,
        };
        let last = structure.requirements.last();
        let form = Form::of(&text, current.or(last));
        let proposed = match &state.settings.chat {
            Some(chat) => {
                let lines: Vec<&str> = text.split('\n').collect();
                let block = current.map(|r| lines[r.line - 1..r.end_line.min(lines.len())].join("\n"));
                match proposal::propose(chat, facts, key, block.as_deref()).await {
                    Ok(requirement) => {
                        let title = current.map_or_else(|| compose::safe(&facts.title), |r| compose::safe(&r.title));
                        Ok((compose::proposed(&requirement, key, &title, facts.priority()), chat.model.clone()))
                    }
                    Err(why) => {
                        tracing::warn!(%why, "the chat model's proposal was not used; the template wrote the draft");
                        Err(Some("the chat model's proposal could not be used".to_owned()))
                    }
                }
            }
            None => Err(None),
        };
        let provenance = facts.provenance();
        let drafted = match (&proposed, current) {
            (Ok((drafted, _)), Some(requirement)) => {
                splice::replace(&text, requirement, &compose::render(drafted, &provenance, form))
            }
            (Ok((drafted, _)), None) => splice::insert_new(&text, last, &compose::render(drafted, &provenance, form)),
            (Err(_), Some(requirement)) => compose::amend(&text, requirement, &provenance, Some(&facts.scenario())),
            (Err(_), None) => {
                splice::insert_new(&text, last, &compose::render(&facts.template(key), &provenance, form))
            }
        };
        let drafted = if crlf { drafted.replace('\n', "\r\n") } else { drafted };
        content::replace(&state.collab, place, &drafted, project.actor().user_id).await?;
        Ok(match proposed {
            Ok((_, model)) => Wording { proposed_by: Some(model), fallback: None },
            Err(why) => Wording { proposed_by: None, fallback: why },
        })
    }

    /// Opens the change request and records the draft with it, in one transaction.
    async fn record(&self, branch: &Branch, wording: Wording) -> Result<DraftCreated> {
        let Making { state, project, id, facts, target, reserved } = self;
        let Wording { proposed_by, fallback } = wording;
        let db = &state.db;
        let key = &reserved.key;
        let (_, keys) = requirements::refresh(db, project.project(), branch.id).await?;
        let requirement = *keys
            .get(&key.to_uppercase())
            .ok_or_else(|| Error::Conflict(format!("{key} could not be written into that spec; try again")))?;
        // Change requests show their title and description as plain text.
        let plain = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let short = branch.name.trim_start_matches("incident/");
        let title: String = format!("Incident {short}: {}", plain(&facts.title)).chars().take(200).collect();
        let wording = match (&proposed_by, &fallback) {
            (Some(model), _) => format!(
                "Proposal by the language model {}, written from the incident: check every word before approving.",
                plain(model)
            ),
            (None, Some(why)) => format!("Written from the template ({why}): fill in what it marks for clarification."),
            (None, None) => "Written from the template: fill in what it marks for clarification.".to_owned(),
        };
        let what = match target.amends.as_deref() {
            Some(amended) => format!("Amends {amended}"),
            None => format!("Adds {key}"),
        };
        let description = format!(
            "{what} after incident “{}” ({} {}, {} service, seen {} time(s)): /incidents/{id}\n\n{wording}",
            plain(&facts.title),
            plain(&facts.source),
            plain(&facts.external_id),
            plain(&facts.service),
            facts.occurrences
        );
        let proposal = NewChangeRequest {
            source: branch.name.clone(),
            target: branches::MAIN.into(),
            title,
            description: Some(description),
        };
        let mut tx = db.begin().await?;
        let (change_request, created) = change_requests::create_in(&mut tx, project, proposal).await?;
        // A reservation that expired meanwhile was given up: the change request goes too.
        let recorded = sqlx::query(
            "UPDATE incident_drafts SET change_request_id = $2, requirement_id = $3, proposed_by = $4
             WHERE id = $1 AND change_request_id IS NULL",
        )
        .bind(reserved.id)
        .bind(change_request)
        .bind(requirement)
        .bind(&proposed_by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            return Err(Error::Conflict("this draft took too long and was given up; try again".into()));
        }
        let summary = format!("drafted {key} from incident {} in change request #{}", facts.title, created.number);
        audit::record(&mut *tx, project.audit("incident.draft", ("incident", id), summary)).await?;
        tx.commit().await?;
        Ok(DraftCreated {
            branch: branch.name.clone(),
            change_request: DraftChangeRequest { number: created.number },
            key: key.clone(),
            proposed_by,
        })
    }
}
