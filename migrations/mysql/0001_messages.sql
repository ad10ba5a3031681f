-- Twoots. Vitess/PlanetScale-compatible: ids come from the app (no AUTO_INCREMENT), no foreign
-- keys. Shard both tables by `tag` so a post and its counter update stay on one shard.
-- Tags are stored folded to lower-case ASCII, so the default collation compares them exactly.
CREATE TABLE messages (
    id         BIGINT       NOT NULL,
    tag        VARCHAR(64)  NOT NULL,
    text       VARCHAR(280) NOT NULL,
    created_at DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    -- A tag's timeline, newest first: an index range read for every page.
    KEY messages_tag_id (tag, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Twoots per (year, tag), updated in the same transaction as every insert. Each (year, tag) is
-- split over a few `slot` rows chosen at random per write, so concurrent posts to a popular tag
-- do not queue on one row lock; statistics sum the slots.
CREATE TABLE message_counts (
    year  SMALLINT    NOT NULL,
    tag   VARCHAR(64) NOT NULL,
    slot  TINYINT     NOT NULL,
    count BIGINT      NOT NULL,
    PRIMARY KEY (year, tag, slot)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
