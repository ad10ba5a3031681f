-- API keys. `id` is the public part of a key; of the secret only its SHA-256 is kept. A revoked
-- key keeps its row, so `keys list` still shows who had it.
CREATE TABLE api_keys (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    secret_sha256 BLOB    NOT NULL,
    -- Milliseconds since the Unix epoch, UTC.
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

-- The answer to each POST /messages that carried an Idempotency-Key, written in the same
-- transaction as the twoot, so a retry finds either both or neither. `client` is the API key's
-- id, or '' for a client without one.
CREATE TABLE idempotency_keys (
    client          TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    tag             TEXT    NOT NULL,
    request_sha256  BLOB    NOT NULL,
    status          INTEGER NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (client, idempotency_key)
);

-- The purge of expired keys: an index range read from the oldest.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
