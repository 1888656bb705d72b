//! How an implementation conforms to its contract: the OpenAPI document the code's
//! build produces, read as a new version of the contract. Each operation the contract
//! promises is implemented, missing, or drifted (a difference that would break the
//! contract's callers, by the review rules); operations only the implementation has are
//! extra. Each operation is compared on its own, so a schema several share counts at
//! each, and paths match whatever their parameters are called (`/orders/{id}` serves
//! `/orders/{orderId}`).

use std::collections::{HashMap, HashSet};

use charter_types::{Conformity, DocumentId, OperationConformance};
use serde_json::Value;

use super::{by_name, schemas, Change, Direction, Impact, Out};
use crate::budget::Budget;
use crate::contract::{Contract, Kind, Readable};
use crate::error::{Error, Result};

/// [`conformance`] of two texts, the contract's and the implementation's: a conflict
/// when the contract cannot be read as OpenAPI, a mistake when the implementation
/// cannot.
pub fn conformance_of(
    document_id: DocumentId,
    contract: &str,
    implementation: &str,
    budget: &Budget,
) -> Result<(Vec<OperationConformance>, Vec<String>)> {
    let openapi = |readable: &&Readable| matches!(readable.kind, Kind::OpenApi(_));
    let (promised, served) = (Contract::read(contract), Contract::read(implementation));
    let promised = promised.readable().filter(openapi).ok_or_else(|| {
        Error::Conflict("the contract is not a readable OpenAPI document: its lint findings say why".into())
    })?;
    let served = match &served.read {
        Ok(readable) if openapi(&readable) => readable,
        Ok(_) => return Err(Error::Invalid("the implementation is not an OpenAPI 3.0 or 3.1 document".into())),
        Err(err) => {
            let (line, column) = (err.place.line, err.place.column);
            let message = format!("the implementation cannot be read (line {line}, column {column}): {}", err.message);
            return Err(Error::Invalid(message));
        }
    };
    conformance(document_id, promised, served, budget)
}

/// A path with its parameters' names left out, `/orders/{}`, and those names in order.
fn shape(path: &str) -> (String, Vec<&str>) {
    let mut names = Vec::new();
    let segments: Vec<String> = path
        .split('/')
        .map(|segment| match (segment.find('{'), segment.find('}')) {
            (Some(open), Some(close)) if open < close => {
                names.push(&segment[open + 1..close]);
                format!("{}{{}}{}", &segment[..open], &segment[close + 1..])
            }
            _ => segment.to_owned(),
        })
        .collect();
    (segments.join("/"), names)
}

/// `METHOD shape`, how an operation is matched.
fn key(name: &str) -> String {
    let (method, path) = name.split_once(' ').unwrap_or((name, ""));
    format!("{method} {}", shape(path).0)
}

/// The contract's operations as the implementation serves them, and the
/// implementation's operations the contract does not have (by name). Each operation is
/// compared within `budget`.
pub fn conformance(
    document_id: DocumentId,
    contract: &Readable,
    implementation: &Readable,
    budget: &Budget,
) -> Result<(Vec<OperationConformance>, Vec<String>)> {
    let promised: HashMap<String, (&Value, &Value)> =
        by_name(contract).into_iter().map(|(name, item, value)| (name, (item, value))).collect();
    let served = by_name(implementation);
    let served_by_key: HashMap<String, usize> =
        served.iter().enumerate().map(|(index, (name, _, _))| (key(name), index)).collect();
    let mut checked = Vec::new();
    for operation in &contract.operations {
        budget.check()?;
        let name = crate::contract::operation_name(operation);
        let Some(&(old_item, old)) = promised.get(&name) else { continue };
        let found = served_by_key.get(&key(&name)).map(|&index| &served[index]);
        let (status, changes) = match found {
            None => {
                let change = Change {
                    rule: "operation-removed",
                    impact: Impact::Breaking,
                    location: name.clone(),
                    change: format!("{name} is not served"),
                };
                (Conformity::Missing, vec![change])
            }
            Some((served_name, new_item, new)) => {
                // The implementation's path parameters under the contract's names.
                let served_path = served_name.split_once(' ').map_or("", |(_, path)| path);
                let renames: Vec<(&str, &str)> = shape(served_path)
                    .1
                    .into_iter()
                    .zip(shape(&operation.path).1)
                    .filter(|(served, promised)| served != promised)
                    .collect();
                let (new_item, new) = (renamed(new_item, &renames), renamed(new, &renames));
                let mut out = Out { changes: Vec::new() };
                let roots = (&contract.source.value, &implementation.source.value);
                let mut compare = schemas::Compare::new(roots.0, roots.1, Direction::Request, &mut out);
                compare.operation(&name, (old_item, old), (&new_item, &new));
                let changes = out.changes;
                let drifted = changes.iter().any(|change| change.impact == Impact::Breaking);
                (if drifted { Conformity::Drifted } else { Conformity::Implemented }, changes)
            }
        };
        let differences = changes.into_iter().map(|change| super::api_change(document_id, change)).collect();
        checked.push(OperationConformance {
            operation: name,
            method: operation.method,
            path: operation.path.clone(),
            status,
            differences,
        });
    }
    let promised_keys: HashSet<String> = promised.keys().map(|name| key(name)).collect();
    let extra =
        served.iter().map(|(name, _, _)| name).filter(|name| !promised_keys.contains(&key(name))).cloned().collect();
    Ok((checked, extra))
}

/// A path item or operation with its path parameters named as `renames` say.
fn renamed(value: &Value, renames: &[(&str, &str)]) -> Value {
    let mut value = value.clone();
    if renames.is_empty() {
        return value;
    }
    for parameter in value.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        if parameter.get("in").and_then(Value::as_str) != Some("path") {
            continue;
        }
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or_default();
        if let Some((_, promised)) = renames.iter().find(|(served, _)| *served == name) {
            parameter["name"] = Value::String((*promised).to_owned());
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use charter_types::{Conformity, DocumentId};

    use super::conformance;
    use crate::contract::Contract;

    const CONTRACT: &str = include_str!("../fixtures/shop.yaml");

    #[test]
    fn each_operation_is_implemented_missing_or_drifted_and_extras_are_named() {
        let id = DocumentId::from_uuid(uuid::Uuid::from_u128(1));
        let contract = Contract::read(CONTRACT);
        let check = |implementation: &str| {
            let implementation = Contract::read(implementation);
            let budget = crate::budget::Budget::new(crate::budget::LIMIT);
            let (operations, extra) =
                conformance(id, contract.readable().unwrap(), implementation.readable().unwrap(), &budget).unwrap();
            let statuses: Vec<(String, Conformity)> =
                operations.iter().map(|op| (op.operation.clone(), op.status)).collect();
            (statuses, extra, operations)
        };
        let (statuses, extra, _) = check(CONTRACT);
        assert_eq!(
            statuses,
            [
                ("POST /orders".into(), Conformity::Implemented),
                ("GET /orders/{orderId}".into(), Conformity::Implemented)
            ]
        );
        assert!(extra.is_empty());

        // The code calls its parameter `id`, drops the order's status, and serves a cart.
        let served = CONTRACT
            .replace(
                "/orders/{orderId}:\n    parameters:\n      - name: orderId",
                "/orders/{id}:\n    parameters:\n      - name: id",
            )
            .replace("required: [orderId, status]", "required: [orderId]")
            .replace("        status: {type: string, enum: [placed, paid, shipped]}\n", "")
            .replace(
                "components:\n",
                "  /carts:\n    get:\n      responses:\n        '200': {description: A cart.}\ncomponents:\n",
            );
        let (statuses, extra, operations) = check(&served);
        assert_eq!(
            statuses,
            [("POST /orders".into(), Conformity::Drifted), ("GET /orders/{orderId}".into(), Conformity::Drifted)],
            "the Order both answer with lost a field: {operations:#?}"
        );
        assert!(operations[1].differences.iter().all(|d| d.rule != "parameter-removed"), "{operations:#?}");
        assert!(operations[1].differences.iter().any(|d| d.rule == "response-property-removed"));
        assert_eq!(extra, ["GET /carts"]);

        let without_reading =
            CONTRACT.replace("    get:\n      operationId: getOrder", "    put:\n      operationId: getOrder");
        let (statuses, extra, operations) = check(&without_reading);
        assert_eq!(statuses[1], ("GET /orders/{orderId}".into(), Conformity::Missing));
        assert_eq!(operations[1].differences[0].change, "GET /orders/{orderId} is not served");
        assert_eq!(extra, ["PUT /orders/{orderId}"]);
    }

    /// Each operation of the shop as served by `implementation`: its status and the rules
    /// of its differences.
    fn served(implementation: &str) -> Vec<(Conformity, Vec<String>)> {
        let id = DocumentId::from_uuid(uuid::Uuid::from_u128(1));
        let (contract, implementation) = (Contract::read(CONTRACT), Contract::read(implementation));
        let budget = crate::budget::Budget::new(crate::budget::LIMIT);
        let (operations, _) =
            conformance(id, contract.readable().unwrap(), implementation.readable().unwrap(), &budget).unwrap();
        operations.into_iter().map(|op| (op.status, op.differences.into_iter().map(|d| d.rule).collect())).collect()
    }

    #[test]
    fn requests_the_code_refuses_and_statuses_it_changed_are_drift() {
        let replaced = |from: &str, to: &str| {
            assert!(CONTRACT.contains(from), "{from}");
            CONTRACT.replacen(from, to, 1)
        };
        // The code wants a field callers were never asked for.
        let stricter = replaced("      required: [items]\n", "      required: [items, coupon]\n");
        let stricter = stricter.replace(
            "      properties:\n        items:\n",
            "      properties:\n        coupon: {type: string}\n        items:\n",
        );
        let (conformity, rules) = &served(&stricter)[0];
        assert_eq!((*conformity, rules), (Conformity::Drifted, &vec!["request-property-added-required".to_owned()]));
        // It answers 200 where the contract promises 201.
        let status = replaced(
            "        '201':\n          description: The order, placed.",
            "        '200':\n          description: The order, placed.",
        );
        let (conformity, rules) = &served(&status)[0];
        assert_eq!(*conformity, Conformity::Drifted);
        assert!(rules.iter().any(|rule| rule == "success-status-removed"), "{rules:?}");
        // It takes a number where the contract promises a uuid string.
        let narrowed = replaced("schema: {type: string, format: uuid}", "schema: {type: integer}");
        let (conformity, rules) = &served(&narrowed)[1];
        assert_eq!(*conformity, Conformity::Drifted);
        assert!(rules.iter().any(|rule| rule == "type-changed"), "{rules:?}");
        // Answering with more than promised, or accepting what was optional, is still the contract.
        let more = replaced(
            "        totalCents: {type: integer}\n",
            "        totalCents: {type: integer}\n        currency: {type: string}\n",
        );
        let (conformity, rules) = &served(&more)[1];
        assert_eq!((*conformity, rules), (Conformity::Implemented, &vec!["property-added".to_owned()]));
    }
}
