use charter_types::Kind;

use super::*;
use crate::templates;

fn keys(structure: &Structure) -> Vec<&str> {
    structure.requirements.iter().map(|r| r.key.as_str()).collect()
}

#[test]
fn list_requirements_take_their_sub_list_as_scenarios() {
    let text = "## Requirements\n\n\
            - **AUTH-001** The system SHALL lock an account\n  after 5 failed logins.\n\
            \x20 - Given 4 failed logins, When the 5th fails, Then the account is locked.\n\
            \x20   - and an email is sent\n\
            \x20 - Given a locked account, When 15 minutes pass, Then it unlocks.\n\
            - **AUTH-002**: The system MUST log every login.\n\
            - plain item\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["AUTH-001", "AUTH-002"]);
    let first = &structure.requirements[0];
    assert_eq!(first.text, "The system SHALL lock an account after 5 failed logins.");
    assert_eq!(
        first.acceptance,
        [
            "Given 4 failed logins, When the 5th fails, Then the account is locked. and an email is sent",
            "Given a locked account, When 15 minutes pass, Then it unlocks."
        ]
    );
    assert_eq!((first.line, first.column, first.end_line), (3, 5, 7));
    assert_eq!(first.section, "Requirements");
    assert!(structure.requirements[1].acceptance.is_empty());
    assert_eq!(structure.requirements[1].text, "The system MUST log every login.");
}

#[test]
fn heading_requirements_take_text_and_scenarios_until_the_next_heading() {
    let text = "# Spec\n\n## Stories (Priority: P2)\n\n### AUTH-003: Account lockout (P1) ##\n\n\
            When 5 logins fail, the system SHALL lock the account.\n\n**Acceptance:**\n\n\
            - Given 5 failures, When I log in, Then I see \"locked\".\n\n#### Notes\n\nMore prose.\n\n\
            ### AUTH-004\n\nThe system SHALL email the owner.\n\n## Next\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["AUTH-003", "AUTH-004"]);
    let lockout = &structure.requirements[0];
    assert_eq!(lockout.title, "Account lockout (P1)", "trailing closing hashes are not the title");
    assert_eq!(lockout.text, "When 5 logins fail, the system SHALL lock the account. More prose.");
    assert_eq!(lockout.acceptance, ["Given 5 failures, When I log in, Then I see \"locked\"."]);
    assert_eq!(lockout.priority.as_deref(), Some("P1"), "its own priority wins");
    let email = &structure.requirements[1];
    assert_eq!(email.title, "The system SHALL email the owner.", "an untitled heading takes its first sentence");
    assert_eq!(email.priority.as_deref(), Some("P2"), "inherited from the heading above");
    assert_eq!(email.section, "Stories (Priority: P2)");
}

#[test]
fn ids_in_code_are_not_structure() {
    let text = "```\n- **AUTH-009** not a requirement [NEEDS CLARIFICATION: no]\n### AUTH-010: nor this\n```\n\
            ~~~~md\n[[AUTH-001]]\n~~~~\n\
            Inline `- **AUTH-011** x` and `[[Nothing]]` and `[NEEDS CLARIFICATION: no]` stay code.\n\
            - **AUTH-012** The system SHALL count `AUTH-013` as code.\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["AUTH-012"]);
    assert!(structure.clarifications.is_empty(), "{:?}", structure.clarifications);
    assert!(structure.links.is_empty(), "{:?}", structure.links);
    assert_eq!(structure.requirements[0].text, "The system SHALL count `AUTH-013` as code.", "code spans kept in text");
    assert!(structure.mentions.iter().all(|m| m.key != "AUTH-013"));
}

#[test]
fn headings_that_only_look_like_ids_are_prose() {
    let structure =
        parse("## COVID-19 impact\n\n### Session 2026-11-21\n\n### REQ-7 — Export\nThe system SHALL export.\n");
    assert_eq!(keys(&structure), ["REQ-7"]);
    assert_eq!(structure.requirements[0].title, "Export");
}

#[test]
fn non_ascii_ids_text_and_columns() {
    let text = "- **ÜBER-001** Das System SOLL „Grüße“ zeigen — SHALL show greetings. [NEEDS CLARIFICATION: welche Sprache? 🌍]\n\
            Siehe [[ÜBER-001]] und 🌍 [[Straße]].\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["ÜBER-001"]);
    assert_eq!(structure.clarifications[0].question, "welche Sprache? 🌍");
    let link = &structure.links[1];
    assert_eq!(link.target, "Straße");
    // "Siehe [[ÜBER-001]] und 🌍 " is 25 UTF-16 units (the emoji counts two).
    assert_eq!((link.line, link.column, link.length), (2, 27, 10));
}

#[test]
fn markers_links_tasks_and_criteria() {
    let text = "# Tasks\n\n- [ ] T001 Write tests for [[AUTH-001]] and AUTH-002\n- [x] T002 Done, see [[Login spec|the spec]]\n\n\
            ## Success criteria\n\n- **SC-001** 95% of logins finish within 2 s.\n- Users are happy.\n  - a detail\n\n\
            ## Later\n\n- not a criterion\n";
    let structure = parse(text);
    assert_eq!(structure.tasks.len(), 2);
    assert!(!structure.tasks[0].done && structure.tasks[1].done);
    let refs: Vec<&str> = structure.tasks[0].references.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(refs, ["AUTH-001", "AUTH-002"]);
    assert_eq!(structure.links.iter().map(|l| l.target.as_str()).collect::<Vec<_>>(), ["AUTH-001", "Login spec"]);
    let criteria: Vec<&str> = structure.criteria.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(criteria, ["95% of logins finish within 2 s.", "Users are happy."]);
    assert!(structure.requirements.is_empty(), "an ID'd success criterion is not a requirement");
}

#[test]
fn constitution_metadata_principles_and_settings() {
    let text = templates::render(
        Kind::Constitution,
        None,
        "Constitution",
        None,
        chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
    );
    let structure = parse(&text);
    assert_eq!(structure.metadata.version.as_deref(), Some("1.0.0"));
    assert_eq!(structure.metadata.ratified.as_deref(), Some("2026-01-02"));
    assert_eq!(structure.metadata.amended.as_deref(), Some("2026-01-02"));
    assert_eq!(keys(&structure), ["P-01", "P-02", "P-03"]);
    assert!(structure.requirements[1].text.contains("**Check:** `requirements-have-acceptance`"));
    assert!(structure.clarifications.is_empty(), "a marker in backticks is an example, not a question");
    assert_eq!(structure.settings.len(), 11);
    assert!(structure.settings.contains(&("duplicate-id".to_owned(), "error".to_owned())));
    assert!(structure.settings.contains(&("property-names".to_owned(), "camelcase".to_owned())));
}

#[test]
fn every_template_parses_into_its_structure() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let spec = parse(&templates::render(Kind::Spec, None, "Login", None, day));
    assert_eq!(keys(&spec), ["FR-001", "FR-002", "NFR-001"]);
    assert_eq!(spec.requirements[0].priority.as_deref(), Some("P1"));
    assert_eq!(spec.requirements[2].section, "Requirements › Non-functional requirements");
    assert!(spec.requirements.iter().all(|r| !r.acceptance.is_empty()));
    assert_eq!(spec.criteria.len(), 2);
    assert_eq!(spec.clarifications.len(), 2);

    // The only link is to the parent spec, which exists: the principle and requirement
    // IDs are examples in code, which a new document's project may not define.
    let plan = parse(&templates::render(Kind::Plan, None, "Login plan", Some("Login"), day));
    assert!(plan.requirements.is_empty(), "decisions are not requirements");
    let targets: Vec<&str> = plan.links.iter().map(|l| l.target.as_str()).collect();
    assert_eq!(targets, ["Login"]);
    let before_its_spec = parse(&templates::render(Kind::Plan, None, "Login plan", None, day));
    assert!(before_its_spec.links.is_empty(), "the spec's placeholder is an example, not a link");
    assert!(before_its_spec.mentions.is_empty(), "the example IDs are not mentions");

    let tasks = parse(&templates::render(Kind::Tasks, None, "Login tasks", Some("Login"), day));
    assert_eq!(tasks.tasks.len(), 4);
    assert!(tasks.tasks.iter().all(|task| task.references.is_empty()), "an example ID is no task reference");
    assert_eq!(tasks.links.iter().map(|l| l.target.as_str()).collect::<Vec<_>>(), ["Login"]);
    assert!(parse(&templates::render(Kind::Tasks, None, "Login tasks", None, day)).links.is_empty());
}

#[test]
fn new_plans_and_tasks_start_without_lint_errors() {
    use crate::structure::{lint, Corpus, Doc};
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let doc = |n: u128, kind: Kind, title: &str, parent: Option<&str>| {
        let id = charter_types::DocumentId::from_uuid(uuid::Uuid::from_u128(n));
        Doc::new(id, title.to_owned(), kind, templates::render(kind, None, title, parent, day))
    };
    let constitution = || doc(1, Kind::Constitution, "Constitution", None);
    let spec = || doc(2, Kind::Spec, "Login", None);
    // A project with only its constitution, and one with a spec the new documents sit under.
    let alone = |kind, title| Corpus::new(vec![constitution(), doc(3, kind, title, None)]);
    let under = |kind, title| Corpus::new(vec![constitution(), spec(), doc(3, kind, title, Some("Login"))]);
    for corpus in [
        alone(Kind::Plan, "Billing plan"),
        alone(Kind::Tasks, "Billing tasks"),
        under(Kind::Plan, "Login plan"),
        under(Kind::Tasks, "Login tasks"),
    ] {
        let new = corpus.docs.last().expect("the new document");
        let errors: Vec<_> = lint::document(&corpus, new)
            .into_iter()
            .filter(|finding| finding.severity == charter_types::Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{} starts with errors: {errors:?}", new.title);
    }
}

#[test]
fn structure_survives_an_export_round_trip() {
    // Exporting a spec as Markdown and reading it back gives the same structure.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    for &kind in Kind::ALL {
        let text = templates::render(kind, None, "Round trip", Some("Parent"), day);
        let structure = parse(&text);
        let exported = serde_json::to_string(&structure).unwrap();
        let again: Structure = serde_json::from_str(&exported).unwrap();
        assert_eq!(again, structure);
        let normalized = text.replace("\r\n", "\n");
        assert_eq!(parse(&normalized.replace('\n', "\r\n")), structure, "CRLF line endings read the same");
    }
}

#[test]
fn priority_markers_come_out_of_shown_text() {
    assert_eq!(
        without_priority_marker("(P1) The system SHALL *lock* the account."),
        "The system SHALL *lock* the account."
    );
    assert_eq!(without_priority_marker("Lockout [p2] after five tries"), "Lockout after five tries");
    assert_eq!(without_priority_marker("Refunds (Priority: P3)"), "Refunds");
    assert_eq!(without_priority_marker("Keep P1 in prose (P4)"), "Keep P1 in prose (P4)");
    assert_eq!(without_priority_marker("First.\n(P1) Second"), "First.\nSecond", "lines stay apart");
}

#[test]
fn openspec_requirements_take_their_key_from_the_comment_and_scenarios_from_headings() {
    let text = "# Auth\n\n## Purpose\n\nSign-in.\n\n## Requirements\n\n\
            ### Requirement: User Authentication\n<!-- id: AUTH-001, priority: P1 -->\n\
            The system SHALL issue a JWT on successful login.\n\n\
            #### Scenario: Valid credentials\n- **WHEN** a user submits valid credentials\n- **THEN** a JWT is returned\n\n\
            #### Scenario: 2\n- WHEN it expires THEN the user signs in again [[AUTH-002]]\n\n\
            ### Requirement: Session Expiry\n<!-- id: AUTH-002 -->\nThe system MUST expire sessions.\n\n\
            ### Requirement: No key yet\nThe system SHALL be prose until imported.\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["AUTH-001", "AUTH-002"]);
    let first = &structure.requirements[0];
    assert_eq!(first.title, "User Authentication");
    assert_eq!(first.text, "The system SHALL issue a JWT on successful login.");
    assert_eq!(
        first.acceptance,
        [
            "Valid credentials: **WHEN** a user submits valid credentials **THEN** a JWT is returned",
            "WHEN it expires THEN the user signs in again [[AUTH-002]]"
        ]
    );
    assert_eq!(first.priority.as_deref(), Some("P1"));
    assert_eq!((first.line, first.column, first.end_line), (9, 5, 19));
    assert_eq!(first.section, "Requirements");
    assert_eq!(structure.links.len(), 1);
    // The key comment is not a mention; the link is.
    let mentioned: Vec<usize> = structure.mentions.iter().map(|m| m.line).collect();
    assert_eq!(mentioned, [18]);
    assert_eq!(structure.requirements[1].priority, None);
}

#[test]
fn kiro_requirements_read_the_user_story_and_numbered_criteria() {
    let text = "# Requirements Document\n\n## Requirements\n\n\
            ### Requirement 1: Checkout\n\n<!-- id: CART-001 -->\n\n\
            **User Story:** As a shopper, I want to pay, so that I get my order.\n\n\
            #### Acceptance Criteria\n\n\
            1. WHEN the cart is empty THEN THE Checkout SHALL refuse payment\n\
            2. WHEN payment succeeds THE Checkout SHALL show a receipt\n   with the order number\n\n\
            ### Requirement 2\n<!-- id: CART-002 -->\n**User Story:** As a shopper, I want a refund.\n";
    let structure = parse(text);
    assert_eq!(keys(&structure), ["CART-001", "CART-002"]);
    let first = &structure.requirements[0];
    assert_eq!(first.title, "Checkout");
    assert_eq!(first.text, "As a shopper, I want to pay, so that I get my order.");
    assert_eq!(
        first.acceptance,
        [
            "WHEN the cart is empty THEN THE Checkout SHALL refuse payment",
            "WHEN payment succeeds THE Checkout SHALL show a receipt with the order number"
        ]
    );
    // Without a title, the first sentence is one.
    assert_eq!(structure.requirements[1].title, "As a shopper, I want a refund.");
    assert!(parse("### Requirements\n<!-- id: X-001 -->\ntext\n").requirements.is_empty());
}
