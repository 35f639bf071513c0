"""The local stack: PostgreSQL and the Temporal dev server as child processes of this project."""
