-- Which instance holds which node number of the ids. An instance claims an expired row at start
-- (compare-and-set on `holder` and `expires_at`), renews it while it runs and releases it on
-- shutdown, so two running instances never mint ids with the same node number, on one server, a
-- Galera cluster (a conflicting claim fails certification) or a sharded keyspace (this table
-- lives unsharded; see deploy/vitess).
-- Times are milliseconds since the Unix epoch on the database's clock, the one clock every
-- instance shares.
CREATE TABLE node_leases (
    node       SMALLINT    NOT NULL,
    holder     VARCHAR(64) NOT NULL DEFAULT '',
    expires_at BIGINT      NOT NULL DEFAULT 0,
    -- The latest millisecond the holder may have put into an id of this node: the next holder
    -- mints only above it, whatever its own clock says.
    fence_ms   BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (node)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The 1,024 node numbers, made without recursive CTEs or sequence tables, which not every
-- MySQL-compatible engine has: five base-4 digits.
INSERT INTO node_leases (node)
SELECT a.d + 4 * b.d + 16 * c.d + 64 * e.d + 256 * f.d
FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS a
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS b
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS c
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS e
CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) AS f;
