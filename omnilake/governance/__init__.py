"""Governance: operators' review and correction of the lake's results, and the trace of who read what."""
