"""Plugin contracts (one module per kind) and the entry-point registry."""
