"""What every part of the benchmark shares: where files live, the endpoints, how counts are
written, and the progress log."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WORK = ROOT / "target" / "bench"
SERVER = ROOT / "target" / "release" / "twooter"

TAG = "coffee"
LIMIT = 20

# (key, what the table calls it, the raw bench's --op or None). POST runs last so that the reads
# see the seeded data only; healthz first, as the floor of everything else.
ENDPOINTS = [
    ("healthz", "GET /healthz", None),
    ("tag", f"GET /messages?tag={TAG}&limit={LIMIT}", "tag"),
    ("all", f"GET /messages?limit={LIMIT}", "all"),
    ("deep", f"GET /messages?tag={TAG}&limit={LIMIT}&before=ID (90% deep)", "deep"),
    ("get", "GET /messages/{id}", "get"),
    ("stats", "GET /management/message-stats", "stats"),
    ("post", "POST /messages", "post"),
]
LABELS = {key: label for key, label, _ in ENDPOINTS}
RAW_OP = {key: op for key, _, op in ENDPOINTS}


def log(message):
    print(message, file=sys.stderr, flush=True)


def count_label(n):
    for unit, scale in (("m", 1_000_000), ("k", 1_000)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def count_text(n):
    """A count as the tables write it: 10k, 1M, 10M."""
    label = count_label(n)
    return label[:-1] + "M" if label.endswith("m") else label
