-- 0002: files already read from folder sources, so a poll only parses new or changed files;
-- and an index for "which sources are due".

CREATE TABLE source_files (
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    path      TEXT NOT NULL,                 -- relative to the folder
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    seen_at   TEXT NOT NULL,                 -- UTC ISO 8601
    PRIMARY KEY (source_id, path)
) WITHOUT ROWID;

CREATE INDEX sources_due ON sources (status, next_due_at);
