"""Versioned schema migrations shared by the SQLite and PostgreSQL plugins.

DDL is written once with a few type tokens that each dialect fills in
(``{TS}`` timestamp, ``{JSON}``, ``{BLOB}``, ``{DATE}``), so both backends
keep the same tables. A migration is never edited once released: add a new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]

    def render(self, types: dict[str, str]) -> list[str]:
        return [s.format(**types) for s in self.statements]


SQLITE_TYPES = {"TS": "TEXT", "JSON": "TEXT", "BLOB": "BLOB", "DATE": "TEXT"}
POSTGRES_TYPES = {"TS": "TIMESTAMPTZ", "JSON": "JSONB", "BLOB": "BYTEA", "DATE": "DATE"}

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "0001_identity", (
        """CREATE TABLE tenants (
            id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL DEFAULT 'active',
            settings {JSON} NOT NULL, created_at {TS} NOT NULL)""",
        """CREATE TABLE users (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            email TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT,
            display_name TEXT, status TEXT NOT NULL DEFAULT 'active', created_at {TS} NOT NULL,
            UNIQUE (tenant_id, id))""",
        "CREATE INDEX users_tenant ON users(tenant_id)",
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL, name TEXT NOT NULL,
            prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, tier TEXT NOT NULL,
            created_at {TS} NOT NULL, expires_at {TS}, revoked_at {TS}, last_used_at {TS},
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX api_keys_owner ON api_keys(tenant_id, user_id)",
        """CREATE TABLE refresh_tokens (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            family_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at {TS} NOT NULL,
            expires_at {TS} NOT NULL, used_at {TS}, revoked_at {TS},
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX refresh_tokens_family ON refresh_tokens(tenant_id, family_id)",
        """CREATE TABLE data_keys (
            version INTEGER PRIMARY KEY, wrapped {BLOB} NOT NULL, status TEXT NOT NULL,
            created_at {TS} NOT NULL)""",
        """CREATE TABLE signing_keys (
            id TEXT PRIMARY KEY, algorithm TEXT NOT NULL, private_key_enc {BLOB} NOT NULL,
            public_jwk {JSON} NOT NULL, created_at {TS} NOT NULL, retired_at {TS})""",
        """CREATE TABLE audit_logs (
            id TEXT PRIMARY KEY, tenant_id TEXT, user_id TEXT, action TEXT NOT NULL, ip TEXT,
            user_agent TEXT, details {JSON} NOT NULL, created_at {TS} NOT NULL)""",
        "CREATE INDEX audit_logs_tenant_time ON audit_logs(tenant_id, created_at)",
        "CREATE INDEX audit_logs_time ON audit_logs(created_at)",
    )),
    Migration(2, "0002_providers", (
        """CREATE TABLE user_tokens (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL, provider TEXT NOT NULL,
            access_token_enc {BLOB}, refresh_token_enc {BLOB}, expires_at {TS},
            scopes {JSON} NOT NULL, provider_user_id TEXT, status TEXT NOT NULL,
            meta {JSON} NOT NULL, created_at {TS} NOT NULL, updated_at {TS} NOT NULL,
            UNIQUE (tenant_id, user_id, provider),
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX user_tokens_provider_user ON user_tokens(provider, provider_user_id)",
        """CREATE TABLE oauth_configs (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            provider TEXT NOT NULL, client_id TEXT NOT NULL, client_secret_enc {BLOB} NOT NULL,
            redirect_uri TEXT, scopes {JSON} NOT NULL, updated_at {TS} NOT NULL,
            UNIQUE (tenant_id, provider))""",
        """CREATE TABLE oauth_states (
            state TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, user_id TEXT NOT NULL,
            provider TEXT NOT NULL, data {JSON} NOT NULL, expires_at {TS} NOT NULL)""",
        """CREATE TABLE stored_activities (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            provider TEXT NOT NULL, provider_id TEXT NOT NULL, start_utc {TS} NOT NULL,
            sport_type TEXT NOT NULL, dedup_key TEXT, summary {JSON} NOT NULL, detail {JSON},
            created_at {TS} NOT NULL,
            PRIMARY KEY (tenant_id, user_id, provider, provider_id),
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        """CREATE INDEX stored_activities_time
            ON stored_activities(tenant_id, user_id, provider, start_utc)""",
        """CREATE INDEX stored_activities_dedup
            ON stored_activities(tenant_id, user_id, provider, dedup_key)""",
        """CREATE TABLE daily_records (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            provider TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, day {DATE} NOT NULL,
            data {JSON} NOT NULL, updated_at {TS} NOT NULL,
            PRIMARY KEY (tenant_id, user_id, provider, kind, key),
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX daily_records_day ON daily_records(tenant_id, user_id, provider, kind, day)",
        """CREATE TABLE rate_limit_records (
            key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at {TS})""",
    )),
    Migration(3, "0003_goals_settings_a2a", (
        """CREATE TABLE goals (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL, data {JSON} NOT NULL,
            created_at {TS} NOT NULL, updated_at {TS} NOT NULL,
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX goals_owner ON goals(tenant_id, user_id)",
        """CREATE TABLE user_settings (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            namespace TEXT NOT NULL, data {JSON} NOT NULL, updated_at {TS} NOT NULL,
            PRIMARY KEY (tenant_id, user_id, namespace),
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        """CREATE TABLE a2a_agents (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL, name TEXT NOT NULL,
            description TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at {TS} NOT NULL,
            revoked_at {TS}, last_used_at {TS},
            FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)""",
        "CREATE INDEX a2a_agents_owner ON a2a_agents(tenant_id, user_id)",
        """CREATE TABLE a2a_tasks (
            tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL, user_id TEXT NOT NULL, context_id TEXT, state TEXT NOT NULL,
            data {JSON} NOT NULL, created_at {TS} NOT NULL, updated_at {TS} NOT NULL,
            PRIMARY KEY (tenant_id, task_id))""",
        "CREATE INDEX a2a_tasks_owner ON a2a_tasks(tenant_id, user_id, updated_at)",
    )),
    Migration(4, "0004_invites", (
        # Registration invites: only a hash of the code is stored (it has full entropy,
        # like an API key); `used_at` set once makes an invite single-use.
        """CREATE TABLE invites (
            id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL UNIQUE, email TEXT, role TEXT NOT NULL, created_by TEXT,
            created_at {TS} NOT NULL, expires_at {TS} NOT NULL, used_at {TS}, used_by TEXT)""",
        "CREATE INDEX invites_tenant ON invites(tenant_id, created_at)",
    )),
)

LATEST_VERSION = MIGRATIONS[-1].version
