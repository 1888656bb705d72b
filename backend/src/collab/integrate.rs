//! Whether a writer's update can enter a document.
//!
//! yrs keeps what it cannot place yet instead of refusing it: blocks past what the
//! document holds of a client leave holes in that client's list, and blocks whose
//! origins it lacks, or deletions of text it does not hold, wait as pending state. A
//! document holding either does not survive its own encoding once forged updates
//! restate ids with other content: the server's text, what a joining client decodes
//! and a replay of the stored log drift apart. So a document takes only updates it can
//! place whole. Honest clients meet the first rule when an edit overtakes the sync reply
//! that carries what it builds on (typing right after coming back online); they are
//! asked for everything past the document's state, which brings both.

use std::panic::{catch_unwind, AssertUnwindSafe};

use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

pub(super) enum Integration {
    Applied,
    /// Nothing was applied: the update builds on changes the document does not hold.
    Ahead,
    /// Refused, perhaps after yrs placed part of it: the document must be rebuilt.
    Refused(String),
}

/// Applies `update` to `doc` if it can be placed whole. `held` is the document's state
/// vector, kept up to date when it is: yrs computes one with a step per client that
/// ever edited the document, which adds up over a long-lived document's edits.
pub(super) fn integrate(doc: &Doc, update: Update, held: &mut StateVector) -> Integration {
    let Some(reach) = reach(held, &update) else { return Integration::Ahead };
    // Updates are hostile input: a panic inside yrs costs this update, never the process.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut txn = doc.transact_mut();
        // Origins are only found while placing blocks, so a missing one is seen after.
        match txn.apply_update(update) {
            Err(err) => Integration::Refused(format!("invalid update: {err}")),
            Ok(()) if txn.has_missing_updates() => {
                Integration::Refused("the update refers to changes this document does not have".to_owned())
            }
            Ok(()) => Integration::Applied,
        }
    }));
    let outcome = outcome.unwrap_or_else(|_| Integration::Refused("invalid update".to_owned()));
    if let Integration::Applied = outcome {
        // Placed whole, with no hole: each client's clock is now where the update reached.
        reach.iter().for_each(|(client, clock)| held.set_max(*client, *clock));
    }
    outcome
}

/// Where the update takes each client's clock it inserts for; none if it inserts past
/// what the document holds of a client (or leaves a hole in its own run of a client's
/// blocks), or deletes what neither holds.
fn reach(held: &StateVector, update: &Update) -> Option<StateVector> {
    let mut reach = StateVector::default();
    // Each client's ranges come sorted and merged.
    for (client, ranges) in update.insertions(true).iter() {
        let mut end = held.get(client);
        for range in ranges.iter() {
            if range.start > end {
                return None;
            }
            end = end.max(range.end);
        }
        reach.set_max(*client, end);
    }
    let deletes_unheld = update.delete_set().iter().any(|(client, ranges)| {
        let known = held.get(client).max(reach.get(client));
        ranges.iter().any(|range| range.end > known)
    });
    (!deletes_unheld).then_some(reach)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{GetString, Text};

    use super::*;
    use crate::collab::store::new_doc;

    fn doc_of(client: u64) -> Doc {
        Doc::with_client_id(client)
    }

    fn text(doc: &Doc) -> String {
        doc.get_or_insert_text("content").get_string(&doc.transact())
    }

    fn edit(doc: &Doc, change: impl FnOnce(&Doc, &yrs::TextRef)) -> Update {
        let before = doc.transact().state_vector();
        change(doc, &doc.get_or_insert_text("content"));
        Update::decode_v1(&doc.transact().encode_diff_v1(&before)).unwrap()
    }

    fn insert(doc: &Doc, at: u32, chunk: &str) -> Update {
        edit(doc, |doc, text| text.insert(&mut doc.transact_mut(), at, chunk))
    }

    /// As the actor does, with the state vector computed afresh.
    fn step(doc: &Doc, update: Update) -> Integration {
        let mut held = doc.transact().state_vector();
        integrate(doc, update, &mut held)
    }

    fn applied(doc: &Doc, update: Update) {
        assert!(matches!(step(doc, update), Integration::Applied));
    }

    /// What a client joining now decodes from the document's encoding.
    fn joined(doc: &Doc) -> String {
        let fresh = new_doc();
        let update = doc.transact().encode_state_as_update_v1(&StateVector::default());
        fresh.transact_mut().apply_update(Update::decode_v1(&update).unwrap()).unwrap();
        text(&fresh)
    }

    #[test]
    fn edits_that_build_on_the_document_are_applied() {
        let (server, ada) = (new_doc(), doc_of(1));
        applied(&server, insert(&ada, 0, "hello world"));
        applied(&server, edit(&ada, |doc, text| text.remove_range(&mut doc.transact_mut(), 0, 6)));
        // Typed and partly deleted in one go, as a sync reply after offline edits is.
        applied(
            &server,
            edit(&ada, |doc, text| {
                text.insert(&mut doc.transact_mut(), 5, "!?");
                text.remove_range(&mut doc.transact_mut(), 6, 1);
            }),
        );
        assert_eq!(text(&server), "world!");
        assert_eq!(joined(&server), "world!");
    }

    #[test]
    fn a_resync_restating_what_arrived_meanwhile_is_applied() {
        let (server, ada, bob) = (new_doc(), doc_of(1), doc_of(2));
        let first = insert(&ada, 0, "ab");
        bob.transact_mut().apply_update(Update::decode_v1(&first.encode_v1()).unwrap()).unwrap();
        applied(&server, first);
        let asked = server.transact().state_vector();
        // Ada's next edit reaches the server and Bob before Bob answers the server's step 1.
        let second = insert(&ada, 2, "cd");
        bob.transact_mut().apply_update(Update::decode_v1(&second.encode_v1()).unwrap()).unwrap();
        applied(&server, second);
        insert(&bob, 0, "x");
        let reply = Update::decode_v1(&bob.transact().encode_diff_v1(&asked)).unwrap();
        applied(&server, reply);
        assert_eq!(text(&server), "xabcd");
        assert_eq!(joined(&server), "xabcd");
    }

    #[test]
    fn an_edit_that_overtakes_its_sync_reply_is_asked_for_again() {
        let (server, ada) = (new_doc(), doc_of(1));
        applied(&server, insert(&ada, 0, "spec"));
        let held = server.transact().state_vector();
        // Offline: typed, then deleted part of it; back online, one more edit goes first.
        insert(&ada, 4, " draft");
        let deletion = edit(&ada, |doc, text| text.remove_range(&mut doc.transact_mut(), 4, 1));
        assert!(matches!(step(&server, deletion), Integration::Ahead), "a deletion of text not held yet");
        assert!(matches!(step(&server, insert(&ada, 9, "!")), Integration::Ahead), "an insert past the clock");
        assert_eq!(text(&server), "spec", "nothing of either was applied");
        applied(&server, Update::decode_v1(&ada.transact().encode_diff_v1(&held)).unwrap());
        assert_eq!(text(&server), "specdraft!");
    }

    #[test]
    fn an_update_whose_origins_are_missing_is_refused() {
        let (server, ada, bob) = (new_doc(), doc_of(1), doc_of(2));
        let unseen = insert(&ada, 0, "ab");
        bob.transact_mut().apply_update(unseen).unwrap();
        // Bob's insert sits between Ada's letters, which the server never got.
        let Integration::Refused(reason) = step(&server, insert(&bob, 1, "x")) else { panic!("refused") };
        assert!(reason.contains("does not have"), "{reason}");
    }

    /// Client 7's "hello world" with "hello " deleted, as one update and as the delta
    /// of the deletion; forgeries are these with bytes changed.
    fn corpus() -> [Vec<u8>; 2] {
        let doc = doc_of(7);
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hello world");
        let before = doc.transact().state_vector();
        text.remove_range(&mut doc.transact_mut(), 0, 6);
        let whole = doc.transact().encode_state_as_update_v1(&StateVector::default());
        let delta = doc.transact().encode_diff_v1(&before);
        [whole, delta]
    }

    /// The actor's rule: applied updates are stored, a refusal rebuilds from the store.
    /// After each, a joiner's text must be the server's; at the end, so must a replay.
    fn agree_after(updates: &[Vec<u8>]) -> Result<(), String> {
        let replay = |log: &[Vec<u8>]| {
            let doc = new_doc();
            for update in log {
                doc.transact_mut().apply_update(Update::decode_v1(update).unwrap()).unwrap();
            }
            doc
        };
        // Another writer's text is already there, as in a real document.
        let mut log = vec![{
            let other = doc_of(99);
            insert(&other, 0, "target").encode_v1()
        }];
        let mut server = replay(&log);
        // Kept up to date as the actor keeps it, and computed afresh after a rebuild.
        let mut clock = server.transact().state_vector();
        for bytes in updates {
            let Ok(update) = Update::decode_v1(bytes) else { continue };
            match integrate(&server, update, &mut clock) {
                Integration::Applied => log.push(bytes.clone()),
                Integration::Ahead => {}
                Integration::Refused(_) => {
                    server = replay(&log);
                    clock = server.transact().state_vector();
                }
            }
            if clock != server.transact().state_vector() {
                return Err(format!("kept {clock:?}, held {:?}", server.transact().state_vector()));
            }
            let (held, joined) = (text(&server), joined(&server));
            if held != joined {
                return Err(format!("server {held:?}, joiner {joined:?}"));
            }
        }
        let (held, replayed) = (text(&server), text(&replay(&log)));
        if held == replayed {
            Ok(())
        } else {
            Err(format!("server {held:?}, replay {replayed:?}"))
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
    }

    /// Forgeries the socket fuzzer produced, each of which made the server's text and a
    /// joiner's differ before this rule: blocks restated at other clocks, one with a hole
    /// before it, one with an origin the document lacks.
    #[test]
    fn forged_restatements_leave_the_document_as_it_encodes() {
        let [whole, _] = corpus();
        let cases = [
            // Blocks at clock 32 (a hole), the real ones, then blocks restated from clock 8.
            vec![
                hex("01020720010107636f6e74656e740684070505376f726c640107010006"),
                whole.clone(),
                hex("01020708010107636f6e74656e740684070505776f726c640107014006"),
            ],
            // The real blocks, blocks at clock 64, then a 14-long block restating 0..11
            // whose text names an origin at clock 69.
            vec![
                whole.clone(),
                hex("01020740010107636f6e74676e740684070505776f726c240107010006"),
                hex("01020700010107636f6e74656e740e84074505776f726c640107010006"),
            ],
            // A block at clock 16 past the real ones, then one at clock 9.
            vec![
                whole,
                hex("010207100101076b6f6e74657e740684070505776f726c640107010006"),
                hex("01020709010107636f6e74656e740684070505776f626c640107010006"),
            ],
        ];
        for case in cases {
            agree_after(&case).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Sequences of the corpus's updates, as they are or with bits flipped, cut short
        /// or spliced together: whatever is applied, the document stays as it encodes and replays.
        #[test]
        fn mutated_updates_never_split_server_joiner_and_log(
            steps in proptest::collection::vec((0..2usize, 0..4u8, proptest::collection::vec((any::<usize>(), 0..8u8), 1..4), any::<usize>()), 1..120)
        ) {
            let corpus = corpus();
            let updates: Vec<Vec<u8>> = steps.into_iter().map(|(pick, how, flips, cut)| {
                let mut update = corpus[pick].clone();
                match how {
                    0 => for (at, bit) in flips {
                        let len = update.len();
                        update[at % len] ^= 1 << bit;
                    },
                    1 => update.truncate(cut % update.len()),
                    2 => {
                        let other = &corpus[1 - pick];
                        update.truncate(cut % update.len());
                        update.extend_from_slice(&other[flips[0].0 % other.len()..]);
                    }
                    _ => {}
                }
                update
            }).collect();
            prop_assert_eq!(agree_after(&updates), Ok(()));
        }
    }
}
