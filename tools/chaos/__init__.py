"""`make chaos`: the product under faults, then an audit of what was lost or duplicated."""
