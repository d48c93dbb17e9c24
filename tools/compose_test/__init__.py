"""``make compose-test``: docker-compose.yaml run by a real engine (Debian's docker.io), checked from outside.

engine.py installs and starts the engine; images.py builds the local stand-ins of the registry images;
override.py renders the test-only compose override; deployment.py drives Compose; checks.py observes the
deployment (REST API, UI, sandbox sinks, DAM, Box); __main__.py runs the phases and prints their timings.
"""
