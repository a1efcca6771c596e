"""Contract suites that plugin test modules subclass (pytest required)."""
