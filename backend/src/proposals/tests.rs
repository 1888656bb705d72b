use charter_types::{DocumentId, Kind};

use super::{plan, Edit, RequirementChange};
use crate::error::Error;
use crate::structure::parse::parse;
use crate::structure::{Corpus, Doc};

const PAYMENTS: &str = "# Payments\n\n## Requirements\n\n- **PAY-001** The system SHALL charge once.\n  - Given a retry, When it times out, Then no second charge.\n- **PAY-002** The system SHALL refund in full.\n";
const ORDERS: &str = "# Orders\r\n\r\n### ORD-001: Create\r\n\r\nThe system SHALL create orders.\r\n";

fn id() -> DocumentId {
    DocumentId::from_uuid(uuid::Uuid::new_v4())
}

fn corpus() -> (Corpus, DocumentId, DocumentId, DocumentId) {
    let (payments, orders, tasks) = (id(), id(), id());
    let corpus = Corpus::new(vec![
        Doc::new(payments, "Payments".into(), Kind::Spec, PAYMENTS.into()),
        Doc::new(orders, "Orders".into(), Kind::Spec, ORDERS.into()),
        Doc::new(tasks, "Tasks".into(), Kind::Tasks, "# Tasks\n\n- [ ] T1 Charge\n".into()),
    ]);
    (corpus, payments, orders, tasks)
}

fn requirement(key: &str, change: RequirementChange) -> Edit {
    Edit::Requirement { key: key.into(), change }
}

fn keys(text: &str) -> Vec<String> {
    parse(text).requirements.into_iter().map(|r| r.key).collect()
}

fn invalid(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Invalid(why)) => why,
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[test]
fn requirement_edits_add_replace_and_remove_by_key_in_order() {
    let (corpus, payments, ..) = corpus();
    let edits = [
        requirement(
            "PAY-003",
            RequirementChange::Add {
                document: payments,
                block: "- **PAY-003** The system SHALL email a receipt.\n  - Given a charge, When it succeeds, Then a receipt is sent.".into(),
            },
        ),
        requirement("pay-002", RequirementChange::Remove),
        requirement("PAY-003", RequirementChange::Replace { block: "- **PAY-003** (P1) The system SHALL email a receipt within a minute.".into() }),
    ];
    let texts = plan(&corpus, &edits).expect("applies");
    assert_eq!(texts.keys().collect::<Vec<_>>(), [&payments], "only the edited document");
    let text = &texts[&payments];
    assert_eq!(keys(text), ["PAY-001", "PAY-003"]);
    assert!(text.contains("within a minute") && !text.contains("refund"), "{text}");
    assert!(text.contains("Then no second charge."), "others' scenarios stay: {text}");
}

#[test]
fn whole_texts_replace_documents_and_crlf_documents_stay_crlf() {
    let (corpus, _, orders, _) = corpus();
    let texts = plan(
        &corpus,
        &[requirement(
            "ORD-001",
            RequirementChange::Replace { block: "### ORD-001: Create\n\nThe system SHALL create orders once.".into() },
        )],
    )
    .expect("applies");
    assert_eq!(texts[&orders], "# Orders\r\n\r\n### ORD-001: Create\r\n\r\nThe system SHALL create orders once.\r\n");
    let same =
        plan(&corpus, &[Edit::Text { document: orders, content: ORDERS.replace("\r\n", "\n") }]).expect("applies");
    assert!(same.is_empty(), "the same text in other line endings changes nothing");
}

#[test]
fn edits_that_cannot_apply_say_why() {
    let (corpus, payments, _, tasks) = corpus();
    let add = |document, block: &str| RequirementChange::Add { document, block: block.into() };
    assert!(invalid(plan(&corpus, &[requirement("PAY-009", RequirementChange::Remove)]))
        .contains("PAY-009 is not on this branch"));
    assert!(invalid(plan(&corpus, &[requirement("PAY-001", add(payments, "- **PAY-001** Again."))]))
        .contains("already exists"));
    assert!(invalid(plan(&corpus, &[requirement("PAY-004", add(payments, "- **PAY-005** The system SHALL x."))]))
        .contains("defines PAY-005, not PAY-004"));
    assert!(invalid(plan(&corpus, &[requirement("PAY-004", add(payments, "Just words."))]))
        .contains("exactly one requirement"));
    let two = "- **PAY-004** The system SHALL x.\n- **PAY-005** The system SHALL y.";
    assert!(invalid(plan(&corpus, &[requirement("PAY-004", add(payments, two))])).contains("exactly one requirement"));
    assert!(invalid(plan(&corpus, &[requirement("T-001", add(tasks, "- **T-001** The system SHALL x."))]))
        .contains("into a spec"));
    assert!(
        invalid(plan(&corpus, &[Edit::Text { document: id(), content: "x".into() }])).contains("not on this branch")
    );
}

#[test]
fn blocks_keep_the_form_of_their_spec_and_keys_stay_unique() {
    let (corpus, payments, orders, _) = corpus();
    let add = |document, block: &str| RequirementChange::Add { document, block: block.into() };
    let twice = [
        requirement("PAY-009", add(payments, "- **PAY-009** The system SHALL x.")),
        requirement("PAY-009", add(payments, "- **PAY-009** The system SHALL y.")),
    ];
    assert!(invalid(plan(&corpus, &twice)).contains("PAY-009 already exists"));
    let across = [
        requirement("PAY-009", add(payments, "- **PAY-009** The system SHALL x.")),
        requirement("PAY-009", add(orders, "### PAY-009: X\n\nThe system SHALL x.")),
    ];
    assert!(invalid(plan(&corpus, &across)).contains("PAY-009 already exists"));
    // A shallower heading would take the requirements after it into its block.
    let shallow = RequirementChange::Replace { block: "## ORD-001: Create\n\nThe system SHALL create orders.".into() };
    assert!(invalid(plan(&corpus, &[requirement("ORD-001", shallow)])).contains("level-3 headings"));
    let heading = RequirementChange::Replace { block: "### PAY-002: Refunds\n\nThe system SHALL refund.".into() };
    assert!(invalid(plan(&corpus, &[requirement("PAY-002", heading)])).contains("list items"));
    let padded = RequirementChange::Replace { block: "Intro.\n\n- **PAY-002** The system SHALL refund.".into() };
    assert!(invalid(plan(&corpus, &[requirement("PAY-002", padded)])).contains("alone"));
}
