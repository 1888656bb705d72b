-- A GIN index with fast update keeps new entries in a pending list that every query
-- reads through in full until a vacuum merges it: after a burst of indexing that cost
-- a third of a text search's time at 100,000 entries (docs/benchmarks.md). Inserts
-- merge at once instead; the indexer that makes them runs in the background.
ALTER INDEX search_entries_terms SET (fastupdate = off);
SELECT gin_clean_pending_list('search_entries_terms'::regclass);
