-- API keys. `id` is the public part of a key; of the secret only its SHA-256 is kept. A revoked
-- key keeps its row, so `keys list` still shows who had it. Unsharded under Vitess (see
-- deploy/vitess): a handful of rows that every instance reads by primary key.
CREATE TABLE api_keys (
    id            VARCHAR(16) CHARACTER SET ascii NOT NULL,
    name          VARCHAR(200) NOT NULL,
    role          VARCHAR(16)  NOT NULL,
    secret_sha256 BINARY(32)   NOT NULL,
    -- Milliseconds since the Unix epoch, UTC.
    created_at    BIGINT       NOT NULL,
    revoked_at    BIGINT       NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The answer to each POST /messages that carried an Idempotency-Key, written in the same
-- transaction as the twoot, so a retry finds either both or neither. `client` is the API key's
-- id, or '' for a client without one. Sharded by `tag` like the twoot it answers for.
CREATE TABLE idempotency_keys (
    client          VARCHAR(16)  CHARACTER SET ascii NOT NULL,
    idempotency_key VARCHAR(255) CHARACTER SET ascii NOT NULL,
    tag             VARCHAR(64)  NOT NULL,
    request_sha256  BINARY(32)   NOT NULL,
    status          SMALLINT     NOT NULL,
    body            TEXT         NOT NULL,
    created_at      BIGINT       NOT NULL,
    PRIMARY KEY (client, idempotency_key),
    -- The purge of expired keys: an index range read from the oldest.
    KEY idempotency_keys_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
