"""Every side effect of a trajectory: PostgreSQL writes, documents, notifications."""
