-- 0003: where a source is fetched from after a permanent redirect. The location stays the source's identity
-- (and the scope of its feed's non-URL GUIDs), so moving never re-keys, and never re-posts, its articles.

ALTER TABLE sources ADD COLUMN fetch_url TEXT;
