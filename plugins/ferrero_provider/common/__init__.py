"""What the DAM and Box hooks share: the retry policy from config, streamed transfers, operator messages."""
