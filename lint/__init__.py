"""Project-specific lint checks (run by `make lint`)."""
