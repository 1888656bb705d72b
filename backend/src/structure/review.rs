//! What a change request's review needs from spec structure: the lint findings of the
//! documents it changes (errors block merging unless an owner overrides them), and, when
//! it changes the constitution, the version bump the change implies and its impact.

use charter_types::{BranchId, Bump, ConfirmedBump, ConstitutionChange, DocumentId, Finding, Severity};
use sqlx::PgPool;

use super::constitution::{self, Version};
use super::lint;
use super::{Corpus, Text};
use crate::collab::DocKey;
use crate::content;
use crate::error::Result;

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
