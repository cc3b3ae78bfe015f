-- 0005: deliveries, the outbox of everything the bot posts on its own (announcements of articles, published
-- comments, moderation-queue entries, notices to a server's log channel). One row per (kind, subject, channel),
-- unique, so a message is queued at most once however often its cause repeats; senders claim rows with a lease
-- (claimed_by until claim_expires_at) and record the sent message in the same transaction as the new status.
-- A row is ready when it is pending or failed and due_at has come; a failed row with no due_at is not retried.

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL CHECK (kind IN ('article', 'comment', 'queue', 'notice')),
    subject_id       INTEGER NOT NULL,              -- the article, comment, … the message is about
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,              -- where it is posted (a text, announcement or forum channel, a thread)
    origin_id        INTEGER,                       -- what queued it (a subscription for articles), by kind
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    reason           TEXT,                          -- skipped/failed: a machine-readable cause
    detail           TEXT,                          -- skipped/failed: the same in words (the filter word, the error)
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           TEXT,                          -- not before then; NULL: never (sent, skipped, given up)
    message_id       INTEGER,
    thread_id        INTEGER,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    claimed_by       TEXT,
    claim_expires_at TEXT,
    UNIQUE (kind, subject_id, channel_id)
);

CREATE INDEX deliveries_ready ON deliveries (status, due_at);
CREATE INDEX deliveries_subject ON deliveries (kind, subject_id);
