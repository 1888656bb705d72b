//! One answer from two rankings: Reciprocal Rank Fusion, which needs no common scale
//! between text ranks and cosine similarities, only each hit's place in each list. A
//! hit found both ways rises above hits found one way; an exact key stays first.

use std::collections::HashMap;

use charter_types::{DocumentId, Matched, SearchHit};

use super::query::Ranked;

/// RRF's damping constant: places further down a list count for less, slowly.
const K: f32 = 60.0;
/// Nearest neighbours always exist; below this cosine similarity they are not near
/// enough to show (all-MiniLM-L6-v2 puts unrelated texts around 0 to 0.2).
pub const MIN_SIMILARITY: f32 = 0.3;
/// The score of a hit first in both lists: the most a hit without an exact key gets.
pub const BEST: f32 = 2.0 / (K + 1.0);
/// What an exact key match adds, so that it ranks first whatever else matched.
const EXACT: f32 = 1000.0;

/// The hits of both lists, best first, at most `limit`.
pub fn fuse(text: Vec<Ranked>, meaning: Vec<Ranked>, limit: usize) -> Vec<SearchHit> {
    let mut fused: Vec<(SearchHit, f32)> = Vec::new();
    let mut place: HashMap<(DocumentId, i32), usize> = HashMap::new();
    let meaning = meaning.into_iter().filter(|ranked| ranked.exact || ranked.rank >= MIN_SIMILARITY);
    let lists = [(Matched::Text, text.into_iter().collect::<Vec<_>>()), (Matched::Meaning, meaning.collect())];
    for (way, list) in lists {
        for (position, ranked) in list.into_iter().enumerate() {
            let score = 1.0 / (K + position as f32 + 1.0) + if ranked.exact { EXACT } else { 0.0 };
            match place.get(&ranked.entry) {
                Some(&at) => {
                    let (hit, total) = &mut fused[at];
                    hit.matched.push(way);
                    // An exact match counts once.
                    *total += score - if ranked.exact { EXACT } else { 0.0 };
                }
                None => {
                    place.insert(ranked.entry, fused.len());
                    let mut hit = ranked.hit;
                    hit.matched = vec![way];
                    fused.push((hit, score));
                }
            }
        }
    }
    // Stable: equal scores keep the text list's order.
    fused.sort_by(|(_, a), (_, b)| b.total_cmp(a));
    fused
        .into_iter()
        .take(limit)
        .map(|(mut hit, score)| {
            hit.score = score;
            hit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use charter_types::{HitKind, Kind};

    use super::*;

    fn ranked(ordinal: i32, rank: f32, exact: bool) -> Ranked {
        let document_id = DocumentId::from_uuid(uuid::Uuid::nil());
        Ranked {
            entry: (document_id, ordinal),
            exact,
            rank,
            hit: SearchHit {
                kind: HitKind::Section,
                key: None,
                requirement_id: None,
                document_id,
                document: "Spec".into(),
                document_kind: Kind::Spec,
                title: format!("entry {ordinal}"),
                section: String::new(),
                line: 1,
                snippet: Vec::new(),
                score: rank,
                matched: Vec::new(),
            },
        }
    }

    fn order(hits: &[SearchHit]) -> Vec<(&str, Vec<Matched>)> {
        hits.iter().map(|hit| (hit.title.as_str(), hit.matched.clone())).collect()
    }

    #[test]
    fn found_both_ways_beats_found_once() {
        let text = vec![ranked(1, 0.9, false), ranked(2, 0.5, false)];
        let meaning = vec![ranked(3, 0.8, false), ranked(2, 0.7, false)];
        let hits = fuse(text, meaning, 10);
        assert_eq!(
            order(&hits),
            [
                ("entry 2", vec![Matched::Text, Matched::Meaning]),
                ("entry 1", vec![Matched::Text]),
                ("entry 3", vec![Matched::Meaning]),
            ]
        );
        assert!(hits.windows(2).all(|pair| pair[0].score >= pair[1].score));
    }

    #[test]
    fn far_neighbours_are_left_out_and_an_exact_key_leads() {
        let text = vec![ranked(1, 0.9, false), ranked(2, 0.1, true)];
        let meaning = vec![ranked(3, MIN_SIMILARITY - 0.01, false), ranked(2, 0.2, true)];
        let hits = fuse(text, meaning, 10);
        assert_eq!(
            order(&hits),
            [("entry 2", vec![Matched::Text, Matched::Meaning]), ("entry 1", vec![Matched::Text])]
        );
        assert!(hits[0].score > EXACT && hits[0].score < 2.0 * EXACT);
        assert_eq!(fuse(vec![ranked(1, 0.9, false), ranked(2, 0.8, false)], Vec::new(), 1).len(), 1);
    }
}
