-- The lookup vindex behind GET /messages/{id} on Vitess: which shard holds each id. Vitess writes
-- it itself when a message is inserted (consistent_lookup_unique, owned by `messages`). Applied
-- to the sharded keyspace only; a single MySQL server has no use for it.
CREATE TABLE messages_id_lookup (
    id          BIGINT         NOT NULL,
    keyspace_id VARBINARY(128) NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB;
