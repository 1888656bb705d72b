use uuid::Uuid;

use super::*;

fn doc(n: u128, kind: Kind, title: &str, text: &str) -> Doc {
    Doc::new(charter_types::DocumentId::from_uuid(Uuid::from_u128(n)), title.to_owned(), kind, text.to_owned())
}

/// Lints `text` as a spec in a project with `others`; the rule's findings.
fn run(rule: &str, text: &str, others: Vec<Doc>) -> Vec<Finding> {
    let mut docs = vec![doc(1, Kind::Spec, "Login", text)];
    docs.extend(others);
    let corpus = Corpus::new(docs);
    document(&corpus, &corpus.docs[0]).into_iter().filter(|f| f.rule == rule).collect()
}

const GOOD: &str = "- **AUTH-001** The system SHALL lock an account after 5 failures.\n  - Given 5 failures, When I log in, Then I am refused.\n";

#[test]
fn open_clarification() {
    let found = run(OPEN_CLARIFICATION, "Who may log in? [NEEDS CLARIFICATION: which roles?]\n", vec![]);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column, found[0].length), (1, 17, 35));
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(found[0].message.contains("which roles?"));
    assert!(run(OPEN_CLARIFICATION, "Admins may log in.\n", vec![]).is_empty());
}

#[test]
fn missing_acceptance() {
    let found = run(MISSING_ACCEPTANCE, "- **AUTH-001** The system SHALL log in.\n", vec![]);
    assert_eq!(found.len(), 1);
    assert!(found[0].message.starts_with("AUTH-001"));
    assert!(run(MISSING_ACCEPTANCE, GOOD, vec![]).is_empty());
}

#[test]
fn missing_shall_accepts_ears_patterns() {
    let found = run(MISSING_SHALL, "- **AUTH-001** Accounts get locked.\n  - Given x, When y, Then z.\n", vec![]);
    assert_eq!(found.len(), 1);
    for ok in [
        GOOD,
        "### AUTH-002: Lockout\nThe system must lock.\n- Given x, When y, Then z.\n",
        "- **AUTH-003** While offline, the editor keeps edits.\n  - Given x, When y, Then z.\n",
        "- **AUTH-004** If the token expires then the session ends.\n  - Given x, When y, Then z.\n",
    ] {
        assert!(run(MISSING_SHALL, ok, vec![]).is_empty(), "{ok}");
    }
}

#[test]
fn vague_terms_without_a_measure() {
    let found = run(
        VAGUE_TERM,
        "- **AUTH-001** The system SHALL be fast and user-friendly, etc.\n  - Given x, When y, Then z.\n",
        vec![],
    );
    let terms: Vec<(usize, usize)> = found.iter().map(|f| (f.column, f.length)).collect();
    assert_eq!(terms, [(36, 4), (45, 13), (60, 4)]);
    // With a number on the line it is measured; outside requirements it is prose.
    let measured = "- **AUTH-001** The system SHALL be fast: 200 ms at p95.\n  - Given x, When y, Then z.\n\nA fast, robust product.\n";
    assert!(run(VAGUE_TERM, measured, vec![]).is_empty());
}

#[test]
fn duplicate_ids_across_documents() {
    let other = doc(2, Kind::Spec, "Accounts", GOOD);
    let found = run(DUPLICATE_ID, GOOD, vec![other]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Error);
    assert!(found[0].message.contains("Accounts line 1"), "{}", found[0].message);
    let unique = doc(2, Kind::Spec, "Accounts", &GOOD.replace("AUTH-001", "AUTH-002"));
    assert!(run(DUPLICATE_ID, GOOD, vec![unique]).is_empty());
}

#[test]
fn dangling_links() {
    let other = doc(2, Kind::Spec, "Accounts", "- **ACC-001** The system SHALL store accounts.\n");
    let text = "See [[ACC-001]], [[accounts]] and [[Missing spec]].\n";
    let found = run(DANGLING_LINK, text, vec![other.clone()]);
    assert_eq!(found.len(), 1);
    assert!(found[0].message.contains("[[Missing spec]]"));
    assert!(run(DANGLING_LINK, "See [[ACC-001]] and [[Accounts]].\n", vec![other]).is_empty());
}

#[test]
fn unmeasured_success_criteria() {
    let found =
        run(UNMEASURED_CRITERION, "## Success criteria\n\n- Users love it.\n- 90% finish in 2 minutes.\n", vec![]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].line, 3);
    assert!(run(UNMEASURED_CRITERION, "## Success criteria\n\n- 90% finish in 2 minutes.\n", vec![]).is_empty());
}

#[test]
fn tasks_referencing_unknown_requirements() {
    let tasks = "- [ ] T001 Implement [[AUTH-001]]\n- [ ] T002 Implement AUTH-777\n- [ ] T003 Encode as UTF-8\n";
    let spec = doc(2, Kind::Spec, "Login", GOOD);
    let mut docs = vec![doc(1, Kind::Tasks, "Login tasks", tasks), spec];
    let corpus = Corpus::new(std::mem::take(&mut docs));
    let found: Vec<Finding> =
        document(&corpus, &corpus.docs[0]).into_iter().filter(|f| f.rule == UNKNOWN_TASK_REFERENCE).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("AUTH-777"));
    assert_eq!(found[0].line, 2);
    let fine = Corpus::new(vec![
        doc(1, Kind::Tasks, "Login tasks", "- [ ] T001 Implement [[AUTH-001]]\n"),
        doc(2, Kind::Spec, "Login", GOOD),
    ]);
    assert!(document(&fine, &fine.docs[0]).iter().all(|f| f.rule != UNKNOWN_TASK_REFERENCE));
}

#[test]
fn machine_checkable_principles() {
    let constitution = |check: &str| {
        doc(
            9,
            Kind::Constitution,
            "Constitution",
            &format!(
                "### P-02: Testable\n\n**Rule:** Every requirement MUST have a scenario.\n\n**Check:** `{check}`\n"
            ),
        )
    };
    let untested = "- **AUTH-001** The system SHALL log in.\n";
    let found = run(CONSTITUTION_VIOLATION, untested, vec![constitution("requirements-have-acceptance")]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message, "Violates P-02 (Testable): AUTH-001 has no acceptance scenario");
    assert!(run(CONSTITUTION_VIOLATION, GOOD, vec![constitution("requirements-have-acceptance")]).is_empty());
    assert!(run(CONSTITUTION_VIOLATION, untested, vec![]).is_empty(), "no constitution, no violation");
    let found = run(CONSTITUTION_VIOLATION, GOOD, vec![constitution("requirements-have-priority")]);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn api_requirements_need_an_operation() {
    let spec = "## Ordering (API)\n\n- **PAY-001** The system SHALL place an order.\n  - Given a cart, When I pay, Then it is placed.\n\
                - **PAY-002** (API) The system SHALL refund an order.\n  - Given an order, When I refund, Then it is refunded.\n";
    let contract = |keys: &str| {
        let text = format!(
            "openapi: 3.1.0\ninfo: {{title: Orders, version: 1.0.0}}\npaths:\n  /orders:\n    post:\n      x-requirements: [{keys}]\n      responses:\n        '201': {{description: Placed.}}\n"
        );
        doc(2, Kind::Contract, "Orders", &text)
    };
    // Both are API-facing (PAY-001 by its heading); only PAY-001 has an operation.
    let found = run(API_WITHOUT_OPERATION, spec, vec![contract("pay-001")]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].message,
        "PAY-002 is marked (API), but no contract operation carries it out: name it in an operation's x-requirements"
    );
    assert_eq!((found[0].line, found[0].severity), (5, Severity::Warning));
    assert!(run(API_WITHOUT_OPERATION, spec, vec![contract("PAY-001, PAY-002")]).is_empty());
    assert!(run(API_WITHOUT_OPERATION, GOOD, vec![]).is_empty(), "a requirement not marked (API) needs none");
}

#[test]
fn the_constitution_configures_rules() {
    let settings = "## Checks\n\n- `vague-term`: error\n- `missing-acceptance`: off\n- `made-up`: error\n";
    let constitution = doc(9, Kind::Constitution, "Constitution", settings);
    let text = "- **AUTH-001** The system SHALL be fast.\n";
    let vague = run(VAGUE_TERM, text, vec![constitution.clone()]);
    assert_eq!(vague[0].severity, Severity::Error);
    assert!(run(MISSING_ACCEPTANCE, text, vec![constitution]).is_empty());
    assert_eq!(run(MISSING_ACCEPTANCE, text, vec![]).len(), 1, "on by default");
}

#[test]
fn the_spec_template_lints_with_only_its_placeholders() {
    let text = crate::templates::render(
        Kind::Spec,
        None,
        "Login",
        None,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
    );
    let corpus = Corpus::new(vec![doc(1, Kind::Spec, "Login", &text)]);
    let rules: Vec<String> = document(&corpus, &corpus.docs[0]).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, [OPEN_CLARIFICATION, OPEN_CLARIFICATION], "only the template's open questions");
}
