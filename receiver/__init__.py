"""Box webhook receiver: a small service of its own (Airflow stays off the public internet) that checks Box's
signatures, stores each event durably, and triggers the A2->A3 DAG through the Airflow REST API.

Run it with ``python -m receiver`` (``make up`` does); ``python -m receiver replay <event_id>`` sends a stored
event again (its run id makes that harmless).
"""
