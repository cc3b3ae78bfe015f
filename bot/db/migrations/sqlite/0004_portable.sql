-- newsbot: foreign_keys=off
-- 0004: the schema both backends share. Ids are never reused (AUTOINCREMENT); timestamps are fixed-width UTC text
-- ('YYYY-MM-DDTHH:MM:SS.ffffffZ', so text order is time order); "published" becomes a timestamp plus its precision
-- (a page that only gives a day is a date); sources can be claimed by one poller at a time (claimed_by until
-- claim_expires_at); a pause keeps its own reason apart from the last error; last_success_at tells a source's first
-- good poll from the later ones. Tables are rebuilt (SQLite cannot change a column's type); foreign keys are off
-- while that happens, so dropping the old tables cascades nothing, and the runner checks them before committing.

CREATE TABLE sources_v4 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    location         TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('feed', 'page', 'folder', 'file')),
    title            TEXT,
    fetch_full_text  INTEGER NOT NULL DEFAULT 1 CHECK (fetch_full_text IN (0, 1)),
    etag             TEXT,
    last_modified    TEXT,
    fetch_url        TEXT,
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    pause_reason     TEXT,
    failures         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_due_at      TEXT NOT NULL,
    last_polled_at   TEXT,
    last_success_at  TEXT,
    created_at       TEXT NOT NULL,
    claimed_by       TEXT,
    claim_expires_at TEXT
);

INSERT INTO sources_v4 (id, location, kind, title, fetch_full_text, etag, last_modified, fetch_url, status,
                        pause_reason, failures, last_error, next_due_at, last_polled_at, last_success_at, created_at)
SELECT id, location, kind, title, fetch_full_text, etag, last_modified, fetch_url, status,
       CASE WHEN status = 'paused' THEN last_error END,
       failures,
       CASE WHEN status = 'paused' THEN NULL ELSE last_error END,
       strftime('%Y-%m-%dT%H:%M:%f', next_due_at) || '000Z',
       strftime('%Y-%m-%dT%H:%M:%f', last_polled_at) || '000Z',
       CASE WHEN failures = 0 THEN strftime('%Y-%m-%dT%H:%M:%f', last_polled_at) || '000Z' END,
       strftime('%Y-%m-%dT%H:%M:%f', created_at) || '000Z'
FROM sources;

CREATE TABLE articles_v4 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    identity            TEXT NOT NULL UNIQUE,
    url                 TEXT,
    title               TEXT NOT NULL CHECK (length(title) > 0),
    body                TEXT NOT NULL,
    summary             TEXT,
    author              TEXT,
    published_at        TEXT,
    published_precision TEXT CHECK (published_precision IN ('date', 'datetime')),
    caption             TEXT,
    image_url           TEXT,
    site_name           TEXT,
    source_id           INTEGER REFERENCES sources (id) ON DELETE SET NULL,
    ingested_at         TEXT NOT NULL,
    CHECK ((published_at IS NULL) = (published_precision IS NULL))
);

INSERT INTO articles_v4 (id, identity, url, title, body, summary, author, published_at, published_precision, caption,
                         image_url, site_name, source_id, ingested_at)
SELECT id, newsbot_bounded_key(identity), url, title, body, summary, author,
       CASE
           WHEN published IS NULL THEN NULL
           WHEN length(published) = 10 THEN published || 'T00:00:00.000000Z'
           ELSE strftime('%Y-%m-%dT%H:%M:%f', published) || '000Z'
       END,
       CASE
           WHEN published IS NULL THEN NULL
           WHEN length(published) = 10 THEN 'date'
           ELSE 'datetime'
       END,
       caption, image_url, site_name, source_id,
       strftime('%Y-%m-%dT%H:%M:%f', ingested_at) || '000Z'
FROM articles;

DROP TABLE articles;
ALTER TABLE articles_v4 RENAME TO articles;
DROP TABLE sources;
ALTER TABLE sources_v4 RENAME TO sources;

CREATE INDEX articles_latest ON articles (published_at DESC, id DESC);
CREATE INDEX articles_source ON articles (source_id);
CREATE INDEX sources_due ON sources (status, next_due_at);

-- Keys too long to index are stored as digests from now on (bot.news.identity.bounded_key).
UPDATE article_keys SET key = newsbot_bounded_key(key) WHERE length(CAST(key AS BLOB)) > 1024;

UPDATE source_files SET seen_at = strftime('%Y-%m-%dT%H:%M:%f', seen_at) || '000Z';

-- The full-text index keeps its rows (article ids did not change); its triggers went with the old table.
CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;

CREATE TRIGGER articles_au AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
