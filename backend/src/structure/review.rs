//! What a change request's review needs from spec structure: the lint findings of the
//! documents it changes (errors block merging unless an owner overrides them), and, when
//! it changes the constitution, the version bump the change implies and its impact.

use charter_types::{BranchId, Bump, DocumentId, Finding, Severity};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::constitution::{self, Impact, Proposal, Version};
use super::lint;
use super::{Corpus, Text};
use crate::collab::DocKey;
use crate::content;
use crate::error::Result;

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Checks {
    /// Findings in the documents the change request adds or modifies, on its source.
    pub findings: Vec<Finding>,
    /// How many of them are errors (these block merging).
    pub errors: usize,
    /// An owner's decision to merge despite errors.
    pub lint_override: Option<LintOverride>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LintOverride {
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConfirmedBump {
    pub bump: Bump,
    pub by: String,
    /// The source changed after confirming: confirm again.
    pub stale: bool,
}

/// A change request's change to the constitution.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConstitutionChange {
    pub document_id: DocumentId,
    /// The target's version now.
    pub current_version: Option<String>,
    /// The bump read from the diff, and why.
    pub proposal: Proposal,
    /// The version the proposed bump gives.
    pub proposed_version: String,
    pub confirmed: Option<ConfirmedBump>,
    /// The version merging gives (the confirmed bump applied).
    pub next_version: Option<String>,
    /// For a MAJOR change: the specs it affects.
    pub impact: Vec<Impact>,
}

impl ConstitutionChange {
    /// A confirmation that still holds.
    pub fn confirmed_bump(&self) -> Option<Bump> {
        self.confirmed.as_ref().filter(|confirmed| !confirmed.stale).map(|confirmed| confirmed.bump)
    }
}

/// The lint findings of the documents the change request adds or modifies.
pub(crate) async fn checks(db: &PgPool, source: BranchId, changed: &[DocumentId]) -> Result<(Corpus, Vec<Finding>)> {
    let corpus = Corpus::load(&mut *db.acquire().await?, source, Text::Live).await?;
    let findings = corpus
        .docs
        .iter()
        .filter(|doc| changed.contains(&doc.id))
        .flat_map(|doc| lint::document(&corpus, doc))
        .collect();
    Ok((corpus, findings))
}

pub(crate) fn errors(findings: &[Finding]) -> usize {
    findings.iter().filter(|finding| finding.severity == Severity::Error).count()
}

fn version_of(text: &str) -> Option<Version> {
    super::parse::parse(text).metadata.version.as_deref().and_then(Version::parse)
}

/// The constitution's change in this change request, if it has one that matters.
pub(crate) async fn constitution_change(
    db: &PgPool,
    source_corpus: &Corpus,
    target: BranchId,
    fork_base: Option<String>,
    confirmed: Option<ConfirmedBump>,
) -> Result<Option<ConstitutionChange>> {
    let Some(doc) = source_corpus.constitution() else { return Ok(None) };
    let Some(proposal) = constitution::propose(fork_base.as_deref().unwrap_or_default(), doc.text()) else {
        return Ok(None);
    };
    let current =
        match content::read(&mut *db.acquire().await?, DocKey { branch_id: target, document_id: doc.id }).await {
            Ok(text) => version_of(&text),
            Err(crate::Error::NotFound(_)) => None,
            Err(err) => return Err(err),
        };
    let base = current.unwrap_or(Version(0, 0, 0));
    let proposed_version = base.bumped(proposal.bump).to_string();
    let confirmed_bump = confirmed.as_ref().filter(|c| !c.stale).map(|c| c.bump);
    let major = proposal.bump == Bump::Major || confirmed_bump == Some(Bump::Major);
    let impact = if major { constitution::impact(source_corpus, &proposal) } else { Vec::new() };
    Ok(Some(ConstitutionChange {
        document_id: doc.id,
        current_version: current.map(|version| version.to_string()),
        proposal,
        proposed_version,
        next_version: confirmed_bump.map(|bump| base.bumped(bump).to_string()),
        confirmed,
        impact,
    }))
}

/// The constitution's next version after `bump`, and its text stamped with it.
pub(crate) fn stamped(text: &str, bump: Bump, today: chrono::NaiveDate) -> (Version, String) {
    let version = version_of(text).unwrap_or(Version(0, 0, 0)).bumped(bump);
    (version, constitution::stamp(text, version, today))
}
