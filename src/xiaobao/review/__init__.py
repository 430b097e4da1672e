"""Consumer-protection review (消保智能审查): the pure checking engine (extraction, rule library, matching)."""
