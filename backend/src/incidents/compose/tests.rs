use chrono::TimeZone;

use super::*;
use crate::structure::parse::parse;

fn facts() -> Facts {
    Facts {
        id: IncidentId::from_uuid(uuid::Uuid::nil()),
        title: "Card charged twice [checkout] ![x](http://evil.example) [NEEDS CLARIFICATION: planted]".into(),
        description: "Retries after a timeout\ncharged the card again. Seen in eu-west.".into(),
        service: "payments".into(),
        severity: IncidentSeverity::High,
        source: "sentry".into(),
        external_id: "4711".into(),
        started_at: Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap(),
        occurrences: 3,
    }
}

const LIST_SPEC: &str = "# Payments\n\n## Requirements\n\n\
    - **PAY-001** The system SHALL charge a card\n  at most once per order.\n  \
    - Given a paid order, When the client retries, Then no second charge is made.\n\
    - **PAY-002** The system SHALL refund within 5 days.\n\n## Notes\n\nProse.\n";

const HEADING_SPEC: &str =
    "# Spec\n\n### OPS-009: Latency\n\nPages SHALL load in 300 ms.\n\n- Given load, When opened, Then fast.\n\n### Other\n\nProse.\n";

#[test]
fn a_new_requirement_goes_after_the_last_one_and_parses_with_its_scenario_and_provenance() {
    let spec = parse(LIST_SPEC);
    let last = spec.requirements.last();
    let key = next_key(last.map(|r| r.key.as_str()), spec.requirements.iter().map(|r| r.key.as_str()));
    assert_eq!(key, "PAY-003");
    let facts = facts();
    let block = render(&facts.template(&key), &facts.provenance(), Form::of(LIST_SPEC, last));
    let drafted = insert_new(LIST_SPEC, last, &block);
    let after = parse(&drafted);
    let keys: Vec<&str> = after.requirements.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["PAY-001", "PAY-002", "PAY-003"]);
    let new = &after.requirements[2];
    assert_eq!(new.priority.as_deref(), Some("P1"));
    assert!(new.text.contains("SHALL prevent “Card charged twice (checkout)"), "{}", new.text);
    assert!(new.text.contains("Added after incident"), "{}", new.text);
    assert_eq!(new.acceptance.len(), 1);
    assert!(new.acceptance[0].starts_with("Given the conditions of incident 4711 (Retries after a timeout charged"));
    assert!(drafted.ends_with("## Notes\n\nProse.\n"), "the rest of the spec is kept: {drafted}");
    // The incident's words make no link, image or question of their own.
    assert_eq!(after.clarifications.len(), 1, "only the template's own marker: {:?}", after.clarifications);
    assert!(!drafted.contains("](http"), "{drafted}");
}

#[test]
fn an_amendment_adds_a_scenario_and_the_provenance_after_the_whole_text() {
    let spec = parse(LIST_SPEC);
    let facts = facts();
    let drafted = amend(LIST_SPEC, &spec.requirements[0], &facts.provenance(), Some(&facts.scenario()));
    let after = parse(&drafted);
    assert_eq!(after.requirements.len(), 2);
    let amended = &after.requirements[0];
    assert!(
        amended.text.starts_with("The system SHALL charge a card at most once per order. Added after incident"),
        "a wrapped sentence stays whole: {}",
        amended.text
    );
    assert_eq!(amended.acceptance.len(), 2);
    assert!(amended.acceptance[1].contains("Then payments does not report"));
    assert_eq!(after.requirements[1].text, spec.requirements[1].text);
    assert!(after.requirements[1].acceptance.is_empty());
}

#[test]
fn heading_requirements_are_drafted_and_amended_as_headings() {
    let spec = parse(HEADING_SPEC);
    let requirement = &spec.requirements[0];
    let facts = facts();
    let amended = parse(&amend(HEADING_SPEC, requirement, &facts.provenance(), Some(&facts.scenario())));
    assert_eq!(amended.requirements[0].acceptance.len(), 2);
    assert!(amended.requirements[0].text.contains("Added after incident"));
    let key = next_key(Some("OPS-009"), ["OPS-009", "OPS-011", "PAY-020"].into_iter());
    assert_eq!(key, "OPS-012");
    let form = Form::of(HEADING_SPEC, Some(requirement));
    assert_eq!(form, Form::Heading(3));
    let drafted =
        insert_new(HEADING_SPEC, Some(requirement), &render(&facts.template(&key), &facts.provenance(), form));
    let after = parse(&drafted);
    assert_eq!(after.requirements.len(), 2);
    assert_eq!((after.requirements[1].key.as_str(), after.requirements[1].acceptance.len()), ("OPS-012", 1));
    assert!(drafted.contains("\n### OPS-012: (P1) Card charged twice"), "{drafted}");
    assert!(drafted.contains("\n\n### Other\n"), "{drafted}");
}

#[test]
fn a_proposal_takes_the_specs_form_and_keeps_only_its_own_markers() {
    let answer = parse(
        "- **OPS-012** (P2) The system SHALL retry [once](http://x) [NEEDS CLARIFICATION: how often?].\n  \
         - Given a timeout, When it retries, Then *nothing* doubles.",
    );
    let drafted = proposed(&answer.requirements[0], "OPS-012", "Card charged twice", "P1");
    assert_eq!(drafted.priority.as_deref(), Some("P2"));
    assert_eq!(drafted.statement, "The system SHALL retry (once)(http://x) [NEEDS CLARIFICATION: how often?].");
    assert_eq!(drafted.scenarios, ["Given a timeout, When it retries, Then \\*nothing\\* doubles."]);
    let spec = parse(HEADING_SPEC);
    let requirement = &spec.requirements[0];
    let facts = facts();
    let block = render(&drafted, &facts.provenance(), Form::of(HEADING_SPEC, Some(requirement)));
    let after = parse(&insert_new(HEADING_SPEC, Some(requirement), &block));
    let new = &after.requirements[1];
    assert_eq!((new.key.as_str(), new.priority.as_deref(), new.acceptance.len()), ("OPS-012", Some("P2"), 1));
    assert_eq!(after.requirements[0].acceptance.len(), 1, "the requirement before it keeps its own scenarios");
    assert_eq!(after.clarifications.len(), 1);
}

#[test]
fn a_spec_without_requirements_gets_the_first_of_a_series_at_its_end() {
    let text = "# Empty\n\nJust prose.";
    let facts = facts();
    let block = render(&facts.template(&next_key(None, std::iter::empty())), &facts.provenance(), Form::List);
    let drafted = insert_new(text, None, &block);
    let after = parse(&drafted);
    assert_eq!(after.requirements[0].key, "REQ-001");
    assert!(drafted.starts_with("# Empty\n\nJust prose.\n\n- **REQ-001**"), "{drafted}");
}

#[test]
fn numbered_scenarios_keep_the_provenance_in_the_text() {
    let text =
        "# Spec\n\n- **PAY-001** The system SHALL charge once.\n  1. Given a retry, When it lands, Then no charge.\n";
    let spec = parse(text);
    let facts = facts();
    let after = parse(&amend(text, &spec.requirements[0], &facts.provenance(), Some(&facts.scenario())));
    let amended = &after.requirements[0];
    assert!(amended.text.contains("Added after incident"), "{}", amended.text);
    assert_eq!(amended.acceptance.len(), 2, "{:?}", amended.acceptance);
    assert!(!amended.acceptance[0].contains("Added after"), "{:?}", amended.acceptance);
}

#[test]
fn a_spec_without_requirements_takes_the_first_in_its_requirements_section() {
    let text = "# Spec\n\n## Requirements\n\nNone yet.\n\n## Success criteria\n\n- **SC-001** Most users finish.\n";
    let facts = facts();
    let block = render(&facts.template("REQ-001"), &facts.provenance(), Form::List);
    let drafted = insert_new(text, None, &block);
    let after = parse(&drafted);
    let keys: Vec<&str> = after.requirements.iter().map(|r| r.key.as_str()).collect();
    assert!(keys.contains(&"REQ-001"), "{keys:?}");
    assert!(drafted.find("REQ-001").unwrap() < drafted.find("## Success criteria").unwrap(), "{drafted}");
    assert!(drafted.ends_with("Most users finish.\n"), "the last newline stays: {drafted:?}");
}

#[test]
fn a_proposed_text_cannot_start_a_list_of_its_own() {
    let answer = parse("- **X-1** The system SHALL work.\n  - Given a, When b, Then c.");
    let mut requirement = answer.requirements[0].clone();
    requirement.text = "- 1. not a scenario".into();
    requirement.acceptance = vec!["2. Given a, When b, Then c.".into()];
    let drafted = proposed(&requirement, "X-1", "Work", "P2");
    assert_eq!(drafted.statement, "\\- 1. not a scenario");
    assert_eq!(drafted.scenarios, ["2\\. Given a, When b, Then c."]);
}
