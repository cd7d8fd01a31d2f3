"""The entry points: the two Lambda handlers (events, and the scheduled sweep), wiring only."""
