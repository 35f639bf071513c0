"""PostgreSQL: versioned SQL migrations, connections and the repository of the register."""
