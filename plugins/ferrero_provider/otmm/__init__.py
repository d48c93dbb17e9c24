"""OpenText Media Management (the DAM): ``OtmmHook`` and its exceptions."""
