"""Rate limiting: token buckets per key, user and tenant, monthly quotas, connection
limits and provider upstream budgets, over a `pierre.ratelimiters` backend."""
