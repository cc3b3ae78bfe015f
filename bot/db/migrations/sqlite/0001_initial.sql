-- 0001: articles with stable identity, their lookup keys, full-text index, and sources.

CREATE TABLE sources (
    id              INTEGER PRIMARY KEY,
    location        TEXT NOT NULL UNIQUE,          -- URL, or absolute path of a file or folder
    kind            TEXT NOT NULL CHECK (kind IN ('feed', 'page', 'folder', 'file')),
    title           TEXT,
    fetch_full_text INTEGER NOT NULL DEFAULT 1 CHECK (fetch_full_text IN (0, 1)),
    etag            TEXT,
    last_modified   TEXT,
    next_due_at     TEXT NOT NULL,                 -- UTC ISO 8601
    last_polled_at  TEXT,
    failures        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    last_error      TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE articles (
    id          INTEGER PRIMARY KEY,
    identity    TEXT NOT NULL UNIQUE,   -- canonical URL, else 'sha256:<fingerprint>'
    url         TEXT,
    title       TEXT NOT NULL CHECK (length(title) > 0),
    body        TEXT NOT NULL,
    summary     TEXT,
    author      TEXT,
    published   TEXT,                   -- 'YYYY-MM-DD' or full UTC ISO 8601
    caption     TEXT,
    image_url   TEXT,
    site_name   TEXT,
    source_id   INTEGER REFERENCES sources (id) ON DELETE SET NULL,
    ingested_at TEXT NOT NULL
);

CREATE INDEX articles_newest ON articles (COALESCE(published, ingested_at) DESC, id DESC);

-- Every key an article is known by (canonical URL, feed GUID, content fingerprint). A new item that
-- matches any key is the same article, so GUID flips, date rewrites and cross-source copies don't duplicate.
CREATE TABLE article_keys (
    key        TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX article_keys_article ON article_keys (article_id);

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, body,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2',
    prefix = '2 3'
);

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
