"""Demo data: a small, believable world to try every role."""
