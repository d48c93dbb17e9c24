-- Box's event stream as the reconciliation reads it (steps/box_watch.py): where it stopped, per stream, and the
-- events it already acted on (Box may deliver an event twice and out of order; its event id says which).
CREATE TABLE box_stream_positions (
    stream_type TEXT PRIMARY KEY,
    position    TEXT NOT NULL,
    read_at     TIMESTAMPTZ NOT NULL DEFAULT now()   -- a position older than the stream keeps is not used
);

CREATE TABLE box_stream_events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    box_file_id TEXT,
    seen_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX box_stream_events_seen_idx ON box_stream_events (seen_at);
