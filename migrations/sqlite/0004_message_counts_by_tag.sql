-- One tag's counts across the years (`GET /management/message-stats?tag=`): an index range
-- read instead of a scan of every year's tags.
CREATE INDEX message_counts_tag_year ON message_counts (tag, year);
