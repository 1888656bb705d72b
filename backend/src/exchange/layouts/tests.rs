use std::collections::HashSet;

use charter_types::{Kind, Layout};

use super::{assign_keys, read, write, Doc, MANIFEST};
use crate::exchange::archive::File;
use crate::structure::parse::parse;

fn doc(title: &str, kind: Kind, parent: Option<usize>, content: &str) -> Doc {
    Doc { file: String::new(), title: title.into(), kind, parent, content: content.into() }
}

const CONSTITUTION: &str = "# Constitution\n\n## Principles\n\n- **P-001** Specs are the source of truth.\n\n**Version**: 1.2.0 | **Ratified**: 2026-01-05 | **Last Amended**: 2026-02-01\n";

const CHECKOUT: &str = "# Feature Specification: Checkout\n\n## User Scenarios\n\n\
### User Story 1 - Pay for the cart (Priority: P1)\n\n\
- **PAY-001**: System MUST charge the card once.\n  - **Given** a cart, **When** I pay, **Then** I am charged once.\n  - Retry: **When** the network fails, **Then** nothing is charged twice.\n\
- **PAY-002**: System MUST email a receipt [NEEDS CLARIFICATION: which address?], see [[PAY-001]].\n\n\
## Notes\n\nWe follow [[Constitution]].\n";

const LOGIN: &str = "# Login\n\n## Requirements\n\n### AUTH-001: Lockout (P2)\n\nThe system SHALL lock an account after 5 failures.\n\n- Given 5 failures, When I log in, Then I see \"locked\".\n\n### AUTH-002: Audit\n\nAs a security officer, I want every login logged.\n";

fn project() -> Vec<Doc> {
    vec![
        doc("Constitution", Kind::Constitution, None, CONSTITUTION),
        doc("Checkout", Kind::Spec, None, CHECKOUT),
        doc("Plan", Kind::Plan, Some(1), "# Plan\n\nStripe.\n"),
        doc("Tasks", Kind::Tasks, Some(1), "# Tasks\n\n- [ ] T1 Build PAY-001\n"),
        doc("Research", Kind::Plan, Some(1), "# Research\n"),
        doc("Login", Kind::Spec, None, LOGIN),
        doc("Glossary", Kind::Plan, None, "# Glossary\n\nCart: what you buy.\n"),
    ]
}

/// What a round trip must keep of a document.
#[derive(Debug, PartialEq)]
struct Kept {
    title: String,
    kind: Kind,
    parent: Option<String>,
    /// Key, text, scenarios, priority (a title drawn from the text may lose its markup).
    requirements: Vec<(String, String, Vec<String>, Option<String>)>,
    questions: Vec<String>,
    links: Vec<String>,
}

fn kept(docs: &[Doc]) -> Vec<Kept> {
    docs.iter()
        .map(|doc| {
            let structure = parse(&doc.content);
            Kept {
                title: doc.title.clone(),
                kind: doc.kind,
                parent: doc.parent.map(|parent| docs[parent].title.clone()),
                requirements: structure
                    .requirements
                    .into_iter()
                    .map(|r| (r.key, r.text, r.acceptance, r.priority))
                    .collect(),
                questions: structure.clarifications.into_iter().map(|m| m.question).collect(),
                links: structure.links.into_iter().map(|l| l.target).collect(),
            }
        })
        .collect()
}

#[test]
fn every_layout_round_trips_documents_keys_texts_scenarios_priorities_questions_and_links() {
    let original = project();
    assert_eq!(kept(&original)[1].requirements[0].2.len(), 2, "the fixture has scenarios");
    for layout in Layout::ALL.iter().copied() {
        let files = write(layout, &original);
        assert!(files.iter().any(|file| file.path == MANIFEST));
        let (back, skipped) = read(layout, files);
        assert!(skipped.is_empty(), "{layout:?}: {skipped:?}");
        assert_eq!(kept(&back), kept(&original), "{layout:?}");
    }
}

#[test]
fn each_layout_puts_files_where_its_tool_looks() {
    let paths = |layout| write(layout, &project()).into_iter().map(|file| file.path).collect::<Vec<_>>();
    assert_eq!(
        paths(Layout::SpecKit),
        [
            ".specify/memory/constitution.md",
            "specs/001-checkout/spec.md",
            "specs/001-checkout/plan.md",
            "specs/001-checkout/tasks.md",
            "specs/001-checkout/research.md",
            "specs/002-login/spec.md",
            ".specify/memory/glossary.md",
            MANIFEST
        ]
    );
    assert_eq!(
        paths(Layout::OpenSpec)[..6],
        [
            "openspec/project.md",
            "openspec/specs/checkout/spec.md",
            "openspec/specs/checkout/design.md",
            "openspec/specs/checkout/tasks.md",
            "openspec/specs/checkout/research.md",
            "openspec/specs/login/spec.md",
        ]
    );
    assert_eq!(
        paths(Layout::Kiro)[..7],
        [
            ".kiro/steering/constitution.md",
            ".kiro/specs/checkout/requirements.md",
            ".kiro/specs/checkout/design.md",
            ".kiro/specs/checkout/tasks.md",
            ".kiro/specs/checkout/research.md",
            ".kiro/specs/login/requirements.md",
            ".kiro/steering/glossary.md",
        ]
    );
    assert_eq!(paths(Layout::Charter)[..3], ["constitution.md", "checkout.md", "checkout/plan.md"]);
}

const ORDERS: &str = "openapi: 3.1.0\ninfo: {title: Orders API, version: 1.0.0}\npaths: {}\n";
const ORDER: &str =
    "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"title\": \"Order\", \"type\": \"object\"}\n";

#[test]
fn contracts_travel_as_yaml_and_json_files_where_each_tool_keeps_them() {
    let mut docs = project();
    docs.push(doc("Orders", Kind::Contract, Some(1), ORDERS));
    docs.push(doc("Order", Kind::Contract, None, ORDER));
    let placed = |layout| {
        let files = write(layout, &docs);
        files.iter().rev().skip(1).take(2).map(|file| file.path.clone()).rev().collect::<Vec<_>>()
    };
    assert_eq!(placed(Layout::SpecKit), ["specs/001-checkout/contracts/orders.yaml", ".specify/memory/order.json"]);
    assert_eq!(placed(Layout::OpenSpec), ["openspec/specs/checkout/orders.yaml", "openspec/docs/order.json"]);
    assert_eq!(placed(Layout::Kiro), [".kiro/specs/checkout/orders.yaml", ".kiro/steering/order.json"]);
    assert_eq!(placed(Layout::Charter), ["checkout/orders.yaml", "order.json"]);
    for layout in Layout::ALL.iter().copied() {
        // Without the manifest, a contract is known by what it holds, titled by its own title.
        let files: Vec<File> = write(layout, &docs).into_iter().filter(|file| file.path != MANIFEST).collect();
        let (back, skipped) = read(layout, files);
        assert!(skipped.is_empty(), "{layout:?}: {skipped:?}");
        let mut contracts: Vec<(&str, Option<&str>, &str)> = back
            .iter()
            .filter(|doc| doc.kind == Kind::Contract)
            // Charter's layout titles a spec by its heading, as written.
            .map(|doc| {
                let parent = doc.parent.map(|parent| back[parent].title.trim_start_matches("Feature Specification: "));
                (doc.title.as_str(), parent, doc.content.as_str())
            })
            .collect();
        contracts.sort();
        assert_eq!(contracts, [("Order", None, ORDER), ("Orders API", Some("Checkout"), ORDERS)], "{layout:?}");
    }
    // YAML and JSON that are no contract are no document.
    let files = vec![File::new("package.json", "{\"name\": \"x\"}"), File::new("notes.md", "# Notes\n")];
    let (back, skipped) = read(Layout::Charter, files);
    assert_eq!((back.len(), skipped), (1, vec!["package.json".to_owned()]));
}

#[test]
fn openspec_and_kiro_exports_write_requirements_in_their_own_form() {
    let files = write(Layout::OpenSpec, &project());
    let spec = &files[1].text;
    assert!(
        spec.contains("#### Requirement: System MUST charge the card once.\n<!-- id: PAY-001, priority: P1 -->"),
        "{spec}"
    );
    assert!(spec.contains("##### Scenario: 1\n- **Given** a cart"), "{spec}");
    assert!(spec.contains("##### Scenario: Retry\n- **When** the network fails"), "{spec}");
    let files = write(Layout::Kiro, &project());
    let login = &files[5].text;
    assert!(
        login.contains("### Requirement 2: Audit\n<!-- id: AUTH-002 -->\n\n**User Story:** As a security officer"),
        "{login}"
    );
    assert!(login.contains("#### Acceptance Criteria\n\n1. Given 5 failures"), "{login}");
}

fn files(list: &[(&str, &str)]) -> Vec<File> {
    list.iter().map(|(path, text)| File::new(*path, *text)).collect()
}

#[test]
fn a_spec_kit_folder_imports_with_its_features_and_their_documents() {
    let (docs, skipped) = read(
        Layout::SpecKit,
        files(&[
            (
                ".specify/memory/constitution.md",
                "# Shop Constitution\n\n**Version**: 2.1.1 | **Ratified**: 2025-06-13 | **Last Amended**: 2025-07-16\n",
            ),
            (".specify/templates/spec-template.md", "# template"),
            ("specs/001-user-login/plan.md", "# Implementation Plan: User login\n"),
            (
                "specs/001-user-login/spec.md",
                "# Feature Specification: User Login\n\n- **FR-001**: System MUST let users log in.\n",
            ),
            ("specs/001-user-login/checklists/requirements.md", "# Checklist\n\n- [ ] CHK001 FR-001 is testable\n"),
            ("specs/001-user-login/contracts/api.md", "# API\n"),
            ("specs/002-cart/spec.md", "No heading here.\n"),
            ("README.md", "# readme"),
        ]),
    );
    let summary: Vec<(&str, Kind, Option<usize>)> = docs.iter().map(|d| (d.title.as_str(), d.kind, d.parent)).collect();
    assert_eq!(
        summary,
        [
            ("Shop Constitution", Kind::Constitution, None),
            ("User Login", Kind::Spec, None),
            ("Cart", Kind::Spec, None),
            ("Implementation Plan: User login", Kind::Plan, Some(1)),
            ("Checklist", Kind::Tasks, Some(1)),
            ("API", Kind::Plan, Some(1)),
        ]
    );
    assert_eq!(skipped, [".specify/templates/spec-template.md", "README.md"]);
}

const OPENSPEC_AUTH: &str = "# Auth Specification\n\n## Purpose\n\nSign-in.\n\n## Requirements\n\n\
### Requirement: User Authentication\nThe system SHALL issue a JWT on successful login.\n\n\
#### Scenario: Valid credentials\n- **WHEN** a user submits valid credentials\n- **THEN** a JWT is returned\n\n\
### Requirement: Session Expiry\nThe system MUST expire sessions after 30 minutes.\n";

#[test]
fn openspec_and_kiro_imports_give_requirements_keys_that_stay_in_the_text() {
    let (mut docs, skipped) = read(
        Layout::OpenSpec,
        files(&[
            ("openspec/specs/auth/spec.md", OPENSPEC_AUTH),
            ("openspec/changes/add-2fa/proposal.md", "# Change: 2FA\n"),
            ("openspec/AGENTS.md", "# agents"),
        ]),
    );
    assert_eq!(skipped, ["openspec/changes/add-2fa/proposal.md", "openspec/AGENTS.md"]);
    assert!(parse(&docs[0].content).requirements.is_empty(), "no keys yet");
    let mut taken: HashSet<String> = ["AUTHSPEC-001".to_owned()].into();
    assert_eq!(assign_keys(&mut docs, &mut taken), [2]);
    let structure = parse(&docs[0].content);
    let keys: Vec<&str> = structure.requirements.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["AUTHSPEC-002", "AUTHSPEC-003"]);
    assert_eq!(
        structure.requirements[0].acceptance,
        ["Valid credentials: **WHEN** a user submits valid credentials **THEN** a JWT is returned"]
    );
    // Given again, they are kept.
    assert_eq!(assign_keys(&mut docs, &mut taken), [0]);

    let (mut docs, _) = read(
        Layout::Kiro,
        files(&[
            (".kiro/steering/product.md", "# Product\n"),
            (".kiro/specs/gift-cards/requirements.md", "# Requirements Document\n\n## Requirements\n\n### Requirement 1\n\n**User Story:** As a shopper, I want gift cards.\n\n#### Acceptance Criteria\n\n1. WHEN a card is redeemed THEN THE Shop SHALL lower the total\n"),
            (".kiro/specs/gift-cards/tasks.md", "# Implementation Plan\n\n- [ ] 1. Build it\n  - _Requirements: 1.1_\n"),
        ]),
    );
    let summary: Vec<(&str, Kind, Option<usize>)> = docs.iter().map(|d| (d.title.as_str(), d.kind, d.parent)).collect();
    assert_eq!(
        summary,
        [
            ("Product", Kind::Plan, None),
            ("Gift cards", Kind::Spec, None),
            ("Implementation Plan", Kind::Tasks, Some(1))
        ]
    );
    assert_eq!(assign_keys(&mut docs, &mut HashSet::new()), [0, 1, 0]);
    super::kiro::link_tasks(&mut docs);
    assert!(docs[2].content.contains("  - _Requirements: 1.1_ (GIFTCARD-001)\n"), "{}", docs[2].content);
    let again = docs[2].content.clone();
    super::kiro::link_tasks(&mut docs);
    assert_eq!(docs[2].content, again, "linked once");
    let requirement = &parse(&docs[1].content).requirements[0];
    assert_eq!(requirement.key, "GIFTCARD-001");
    assert_eq!(requirement.text, "As a shopper, I want gift cards.");
    assert_eq!(requirement.acceptance, ["WHEN a card is redeemed THEN THE Shop SHALL lower the total"]);
}

#[test]
fn a_spec_that_would_read_differently_in_another_form_goes_as_written_and_alike_titles_get_folders_apart() {
    let prose_after = "# Auth\n\n## Requirements\n\n- **A-001** The system SHALL log in.\n- **A-002** The system SHALL expire sessions.\n\nOut of scope for this release:\n\n- SSO\n";
    let docs = vec![
        doc("Checkout", Kind::Spec, None, prose_after),
        doc("checkout!", Kind::Spec, None, "# Other\n\n- **B-001** The system SHALL pay.\n"),
    ];
    for layout in [Layout::OpenSpec, Layout::Kiro] {
        let files = write(layout, &docs);
        assert_eq!(files[0].text, prose_after, "{layout:?}: kept as written");
        assert_ne!(files[0].path, files[1].path, "{layout:?}");
        assert!(files[1].text.contains("Requirement"), "{layout:?}: the other is rewritten");
        let (back, _) = read(layout, files);
        assert_eq!(kept(&back), kept(&docs), "{layout:?}");
    }
}
