"""What every domain shares: state machines, audit, notifications, outbox, jobs, errors."""
