-- Which instance holds which node number of the ids. An instance claims an expired row at start
-- (compare-and-set on `holder` and `expires_at`), renews it while it runs and releases it on
-- shutdown, so two running instances never mint ids with the same node number.
-- Times are milliseconds since the Unix epoch on the database's clock, the one clock every
-- instance shares.
CREATE TABLE node_leases (
    node       INTEGER PRIMARY KEY,
    holder     TEXT    NOT NULL DEFAULT '',
    expires_at INTEGER NOT NULL DEFAULT 0,
    -- The latest millisecond the holder may have put into an id of this node: the next holder
    -- mints only above it, whatever its own clock says.
    fence_ms   INTEGER NOT NULL DEFAULT 0
);

WITH RECURSIVE nodes (node) AS (SELECT 0 UNION ALL SELECT node + 1 FROM nodes WHERE node < 1023)
INSERT INTO node_leases (node) SELECT node FROM nodes;
