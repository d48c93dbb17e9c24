"""The tracking database's data access (PostgreSQL, psycopg2): the one place SQL is written for the pipelines,
the receiver and the CLI.

:mod:`.tracking` holds :class:`~include.ferrero.db.tracking.TrackingDb` (the connection, transactions, and the
campaigns, masters, transfers and status changes); each other module stores one kind of record on a
``TrackingDb``: :mod:`.derivatives` (DAM versions of Box files, failures, the per-target lock), :mod:`.outbox`
(outgoing messages), :mod:`.outages`, :mod:`.box_stream` (Box's event stream position), :mod:`.webhook_events`
(what the receiver stored). :mod:`.rows` types the rows; :mod:`.migrate` applies ``migrations/``. The cockpit's
read-only queries live beside the cockpit (``cockpit/queries.py``).
"""
