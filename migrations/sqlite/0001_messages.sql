-- Twoots. `id` is the app's time-ordered id and the rowid, so the timeline is a rowid range read.
CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    tag        TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    -- Milliseconds since the Unix epoch, UTC.
    created_at INTEGER NOT NULL
);

-- A tag's timeline, newest first: an index range read for every page.
CREATE INDEX messages_tag_id ON messages (tag, id);

-- Twoots per (year, tag), updated in the same transaction as every insert, so statistics read
-- one row per (year, tag) instead of scanning messages.
CREATE TABLE message_counts (
    year  INTEGER NOT NULL,
    tag   TEXT    NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (year, tag)
) WITHOUT ROWID;
