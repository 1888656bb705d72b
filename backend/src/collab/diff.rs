//! Replacing a document's whole text as a minimal CRDT edit: a character diff applied
//! as inserts and deletes, so live readers see only what changed and their cursors stay
//! where they were.

use dissimilar::Chunk;
use yrs::{Doc, GetString, ReadTxn, Text, Transact};

use super::store::TEXT;

/// Beyond this many changed characters (after the common start and end are set
/// aside) the changed middle is replaced whole rather than diffed finely: a correct
/// edit either way, and it bounds the work one request can cause.
const FINE_DIFF_LIMIT: usize = 200_000;

fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// Edits `doc` so its text becomes `new`; returns the edit as a v1 update, or `None`
/// when the text is already `new`.
pub(crate) fn replace_text(doc: &Doc, new: &str) -> Option<Vec<u8>> {
    let text = doc.get_or_insert_text(TEXT);
    let old = text.get_string(&doc.transact());
    if old == new {
        return None;
    }
    let before = doc.transact().state_vector();
    {
        let mut txn = doc.transact_mut();
        // Offsets count UTF-16 code units, as Yjs does; chunks split only between chars.
        let mut at = 0u32;
        for chunk in chunks(&old, new) {
            match chunk {
                Chunk::Equal(same) => at += utf16_len(same),
                Chunk::Delete(gone) => text.remove_range(&mut txn, at, utf16_len(gone)),
                Chunk::Insert(added) => {
                    text.insert(&mut txn, at, added);
                    at += utf16_len(added);
                }
            }
        }
    }
    Some(doc.transact().encode_diff_v1(&before))
}

/// The change from `old` to `new` as ordered chunks.
fn chunks<'a>(old: &'a str, new: &'a str) -> Vec<Chunk<'a>> {
    let prefix: usize = old.chars().zip(new.chars()).take_while(|(a, b)| a == b).map(|(c, _)| c.len_utf8()).sum();
    let suffix: usize = old[prefix..]
        .chars()
        .rev()
        .zip(new[prefix..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(c, _)| c.len_utf8())
        .sum();
    let (old_middle, new_middle) = (&old[prefix..old.len() - suffix], &new[prefix..new.len() - suffix]);
    if old_middle.chars().count().max(new_middle.chars().count()) <= FINE_DIFF_LIMIT {
        return dissimilar::diff(old, new);
    }
    let mut chunks = vec![Chunk::Equal(&old[..prefix]), Chunk::Delete(old_middle), Chunk::Insert(new_middle)];
    chunks.push(Chunk::Equal(&old[old.len() - suffix..]));
    chunks
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use yrs::updates::decoder::Decode;
    use yrs::Update;

    use super::*;
    use crate::collab::store::{new_doc, text_of};

    fn doc_with(text: &str) -> Doc {
        let doc = new_doc();
        let content = doc.get_or_insert_text(TEXT);
        content.insert(&mut doc.transact_mut(), 0, text);
        doc
    }

    #[test]
    fn a_small_change_is_a_small_edit() {
        let original = "# Login\n\n".to_owned() + &"The system SHALL do things.\n".repeat(400);
        let doc = doc_with(&original);
        let changed = original.replacen("SHALL do", "SHALL really do", 1);
        let update = replace_text(&doc, &changed).expect("a change");
        assert_eq!(text_of(&doc), changed);
        assert!(update.len() < 100, "the edit carries the change, not the document: {} bytes", update.len());
        assert!(replace_text(&doc, &changed).is_none(), "no change, no edit");
    }

    #[test]
    fn the_edit_reaches_other_replicas_intact_with_astral_characters() {
        let doc = doc_with("emoji 😀 then text — and ünïcode");
        let replica = doc_with("");
        replica
            .transact_mut()
            .apply_update(Update::decode_v1(&doc.transact().encode_state_as_update_v1(&Default::default())).unwrap())
            .unwrap();
        let target = "emoji 😀😀 then 🎉 text — and ünïcode!";
        let update = replace_text(&doc, target).unwrap();
        replica.transact_mut().apply_update(Update::decode_v1(&update).unwrap()).unwrap();
        assert_eq!(text_of(&replica), target);
    }

    #[test]
    fn edits_never_split_a_surrogate_pair() {
        // Found by the property below: a diff whose steps landed inside an emoji.
        let doc = doc_with("😀a\n\né\né a😀aé😀éa😀aéa😀é");
        let target = "\n\n😀 😀  é😀😀😀\n\n\n  a\na\n\n😀😀 😀  \n😀\n";
        replace_text(&doc, target);
        assert_eq!(text_of(&doc), target);
    }

    #[test]
    fn a_wholesale_rewrite_still_yields_the_new_text() {
        let doc = doc_with(&"old line\n".repeat(30_000));
        let target = format!("head\n{}tail", "new line é😀\n".repeat(25_000));
        replace_text(&doc, &target);
        assert_eq!(text_of(&doc), target);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn replacing_always_yields_the_new_text(old in "[a-c😀é\n ]{0,40}", new in "[a-c😀é\n ]{0,40}") {
            let doc = doc_with(&old);
            replace_text(&doc, &new);
            prop_assert_eq!(text_of(&doc), new);
        }
    }
}
