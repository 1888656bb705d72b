//! A draft's wording proposed by the configured chat model: asked for one requirement,
//! and taken only if it reads as exactly that requirement with at least one scenario
//! (anything else falls back to the template, saying so). The caller writes it in the
//! spec's own form, its words made safe.

use super::compose::Facts;
use crate::chat::ChatEndpoint;
use crate::structure::parse::{parse, Requirement};

const INSTRUCTIONS: &str = "You write software requirements for a specification. Answer with exactly one \
requirement in this Markdown form and nothing else:\n\
- **KEY** (P1) The system SHALL <one testable behaviour, with a measurable criterion>.\n  \
- Given <conditions>, When <event>, Then <observable outcome>.\n\
Keep the given KEY. Include a regression scenario that reproduces the incident's conditions. \
Do not invent facts the incident does not state; mark unknowns as [NEEDS CLARIFICATION: question].";

/// The model's requirement `key` for the incident (`current`: the requirement being
/// amended, as written), or why it could not be used.
pub(super) async fn propose(
    chat: &ChatEndpoint,
    facts: &Facts,
    key: &str,
    current: Option<&str>,
) -> Result<Requirement, String> {
    let mut prompt = format!(
        "Incident from {} ({}), severity {}, service {}, seen {} time(s) since {}.\nTitle: {}\nDescription: {}\n\n",
        facts.source,
        facts.external_id,
        facts.severity.as_str(),
        facts.service,
        facts.occurrences,
        facts.started_at.format("%Y-%m-%d %H:%M UTC"),
        facts.title,
        facts.description.chars().take(2_000).collect::<String>(),
    );
    match current {
        Some(current) => prompt.push_str(&format!(
            "Amend this requirement so the incident cannot recur, keeping its KEY {key}:\n{current}\n"
        )),
        None => prompt.push_str(&format!("Write a new requirement with KEY {key} so the incident cannot recur.\n")),
    }
    let answer = chat.complete(INSTRUCTIONS, &prompt).await?;
    taken(&answer, key).ok_or_else(|| format!("the model's answer is not one requirement {key} with a scenario"))
}

/// The answer, stripped of a code fence around it, if it is exactly requirement `key`
/// with at least one scenario.
fn taken(answer: &str, key: &str) -> Option<Requirement> {
    let body = answer.trim();
    let body = body
        .strip_prefix("```markdown")
        .or_else(|| body.strip_prefix("```md"))
        .or_else(|| body.strip_prefix("```"))
        .and_then(|inner| inner.trim_end().strip_suffix("```"))
        .unwrap_or(body)
        .trim();
    let structure = parse(body);
    let [requirement]: &[Requirement] = structure.requirements.as_slice() else { return None };
    let whole = requirement.line == 1 && requirement.end_line == body.lines().count();
    (whole && requirement.key.eq_ignore_ascii_case(key) && !requirement.acceptance.is_empty())
        .then(|| requirement.clone())
}

#[cfg(test)]
mod tests {
    use super::taken;

    #[test]
    fn only_one_whole_requirement_with_the_given_key_and_a_scenario_is_taken() {
        let good = "- **PAY-003** (P1) The system SHALL charge once.\n  - Given a retry, When it times out, Then no second charge.";
        let read = taken(good, "PAY-003").expect("taken");
        assert_eq!((read.key.as_str(), read.acceptance.len()), ("PAY-003", 1));
        assert_eq!(taken(&format!("```markdown\n{good}\n```"), "PAY-003"), Some(read));
        let heading = "### PAY-003: Charge once\n\nThe system SHALL charge once.\n\n- Given a retry, When it times out, Then no second charge.";
        assert!(taken(heading, "PAY-003").is_some(), "either form is taken");
        assert_eq!(taken(good, "PAY-004"), None, "another key");
        assert_eq!(taken("- **PAY-003** The system SHALL charge once.", "PAY-003"), None, "no scenario");
        assert_eq!(taken(&format!("Sure! Here it is:\n\n{good}"), "PAY-003"), None, "chatter around it");
        assert_eq!(taken(&format!("{good}\n- **PAY-004** Another.\n  - Given x, When y, Then z."), "PAY-003"), None);
    }
}
