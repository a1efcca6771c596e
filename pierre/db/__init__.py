"""Built-in database plugins and the schema migrations shared with pierre-postgres."""
