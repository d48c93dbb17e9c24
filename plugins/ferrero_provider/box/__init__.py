"""Box: ``BoxHook`` (official SDK ``box_sdk_gen``) and its exceptions."""
