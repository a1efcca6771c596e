"""The `pierre.databases` contract: async repository methods, no SQL outside plugins.

Every method that touches tenant data takes ``tenant_id`` first and filters on
it, so a caller cannot read or change another tenant's rows by passing an id
it learned elsewhere: a row of another tenant is simply "not found".

Conventions every backend promises:
- timestamps in and out are timezone-aware UTC ``datetime`` objects;
- JSON values are ``dict`` (or ``list`` where named so) in and out;
- ``*_enc`` columns take and return opaque ``bytes`` the caller encrypted with
  ``services.crypto``; ``*_hash`` columns hold hashes, never secrets;
- each public write is atomic (one transaction); ``None`` means "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

API_VERSION = "1.0"

# (table, column) pairs holding ciphertext; `pierre admin rotate-keys` walks these.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("user_tokens", "access_token_enc"),
    ("user_tokens", "refresh_token_enc"),
    ("oauth_configs", "client_secret_enc"),
    ("signing_keys", "private_key_enc"),
)


@dataclass(frozen=True, slots=True)
class TenantRecord:
    id: str
    name: str
    settings: dict[str, Any]
    created_at: datetime
    status: str = "active"


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: str
    tenant_id: str
    email: str
    role: str  # user | tenant_admin | admin
    password_hash: str | None
    status: str  # active | disabled
    created_at: datetime
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: str
    tenant_id: str
    user_id: str
    name: str
    prefix: str  # first characters of the key, shown in listings
    key_hash: str
    tier: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """A registration invite; the code itself is never stored, only its hash."""

    id: str
    tenant_id: str
    code_hash: str
    email: str | None  # when set, only this address may redeem it
    role: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: str | None = None  # the user it created


@dataclass(frozen=True, slots=True)
class ApiKeyLookup:
    """An API key joined with its owner: everything authentication needs in one read."""

    key: ApiKeyRecord
    user_role: str
    user_email: str
    user_status: str
    tenant_status: str


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    id: str
    tenant_id: str
    user_id: str
    family_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    algorithm: str
    private_key_enc: bytes
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DataKeyRecord:
    version: int
    wrapped: bytes  # the data key, AES-GCM-wrapped by the master key
    status: str  # active | retiring | retired
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EncryptedCell:
    """One ciphertext cell with what its associated data is built from."""

    table: str
    column: str
    row_id: str
    tenant_id: str
    user_id: str
    value: bytes


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    tenant_id: str
    user_id: str
    provider: str
    access_token_enc: bytes | None
    refresh_token_enc: bytes | None
    expires_at: datetime | None
    scopes: list[str]
    provider_user_id: str | None
    status: str  # connected | reauth_required | disconnected | ...
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    id: str = ""


@dataclass(frozen=True, slots=True)
class OAuthAppRecord:
    tenant_id: str
    provider: str
    client_id: str
    client_secret_enc: bytes
    redirect_uri: str | None
    scopes: list[str]
    updated_at: datetime
    id: str = ""


@dataclass(frozen=True, slots=True)
class StoredActivity:
    provider_id: str
    start_utc: datetime
    sport_type: str
    dedup_key: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class A2AClientRecord:
    id: str
    tenant_id: str
    user_id: str
    name: str
    description: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    tenant_id: str | None
    user_id: str | None
    action: str
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]
    created_at: datetime


@runtime_checkable
class Database(Protocol):
    """A storage backend. Built by ``from_config(options, ctx)``; ``start`` before use."""

    API_VERSION: str

    # -- lifecycle and schema ---------------------------------------------------
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def health(self) -> None:
        """Raise if a trivial query fails."""
        ...

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; return their names."""
        ...

    async def schema_version(self) -> int:
        """Highest applied migration version (0 on an empty database)."""
        ...

    async def check_schema(self) -> None:
        """Raise PierreError if the database is newer than this code or not migrated."""
        ...

    # -- tenants and users -----------------------------------------------------
    async def create_tenant(self, name: str, *, settings: dict[str, Any] | None = None
                            ) -> TenantRecord:
        """Raise Conflict if the name is taken."""
        ...

    async def get_tenant(self, tenant_id: str) -> TenantRecord | None: ...

    async def get_tenant_by_name(self, name: str) -> TenantRecord | None: ...

    async def list_tenants(self) -> list[TenantRecord]: ...

    async def update_tenant_settings(self, tenant_id: str, settings: dict[str, Any]) -> None: ...

    async def count_users(self) -> int:
        """All users of all tenants (0 = an empty installation)."""
        ...

    async def create_user(self, tenant_id: str, email: str, *, role: str = "user",
                          password_hash: str | None = None,
                          display_name: str | None = None) -> UserRecord:
        """Emails are unique server-wide (lower-cased); raise Conflict otherwise."""
        ...

    async def get_user(self, tenant_id: str, user_id: str) -> UserRecord | None: ...

    async def find_user_by_email(self, email: str) -> UserRecord | None:
        """Login lookup: no tenant yet, so this is the one user read without one."""
        ...

    async def list_users(self, tenant_id: str | None) -> list[UserRecord]:
        """Users of one tenant, or of all tenants when None (server admin)."""
        ...

    async def update_user(self, tenant_id: str, user_id: str, *, role: str | None = None,
                          status: str | None = None, password_hash: str | None = None,
                          display_name: str | None = None) -> UserRecord | None: ...

    # -- API keys --------------------------------------------------------------
    async def create_api_key(self, tenant_id: str, user_id: str, *, name: str, prefix: str,
                             key_hash: str, tier: str, expires_at: datetime | None
                             ) -> ApiKeyRecord: ...

    async def lookup_api_key(self, key_hash: str) -> ApiKeyLookup | None:
        """The key with this hash and its owner, revoked or not (the caller decides)."""
        ...

    async def get_api_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None: ...

    async def get_api_key_any_tenant(self, key_id: str) -> ApiKeyRecord | None:
        """Server-admin CLI only."""
        ...

    async def list_api_keys(self, tenant_id: str, user_id: str | None) -> list[ApiKeyRecord]: ...

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """True if the key existed in this tenant and was not already revoked."""
        ...

    async def touch_api_key(self, key_id: str, when: datetime) -> None: ...

    async def set_api_key_tier(self, tenant_id: str, key_id: str, tier: str
                               ) -> ApiKeyRecord | None:
        """Change a key's tier (revoked or not); the updated key, None if not in this tenant."""
        ...

    # -- registration invites -------------------------------------------------
    async def create_invite(self, tenant_id: str, *, code_hash: str, email: str | None,
                            role: str, expires_at: datetime, created_by: str | None
                            ) -> InviteRecord:
        """Raise InvalidArguments if the tenant is unknown."""
        ...

    async def list_invites(self, tenant_id: str) -> list[InviteRecord]:
        """Oldest first, used and expired ones included."""
        ...

    async def delete_invite(self, tenant_id: str, invite_id: str) -> bool: ...

    async def redeem_invite(self, code_hash: str, email: str, *, password_hash: str,
                            when: datetime) -> tuple[InviteRecord, UserRecord]:
        """Create the invite's user and mark the invite used, in one transaction.

        At most one caller succeeds per invite, however many race. Raises
        InvalidArguments(field="invite") when the code is unknown, used, expired or
        names another email, and Conflict when the email already has an account
        (the invite then stays usable)."""
        ...

    # -- refresh tokens --------------------------------------------------------
    async def create_refresh_token(self, tenant_id: str, user_id: str, *, family_id: str,
                                   token_hash: str, expires_at: datetime
                                   ) -> RefreshTokenRecord: ...

    async def get_refresh_token(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def mark_refresh_token_used(self, token_id: str, when: datetime) -> bool:
        """Atomically set used_at if unset; False means it was already used (reuse)."""
        ...

    async def revoke_refresh_family(self, tenant_id: str, family_id: str) -> int: ...

    async def revoke_user_refresh_tokens(self, tenant_id: str, user_id: str) -> int: ...

    # -- keys for crypto and JWT -----------------------------------------------
    async def list_data_keys(self) -> list[DataKeyRecord]: ...

    async def add_data_key(self, wrapped: bytes, *, status: str = "active") -> DataKeyRecord:
        """Next version; when status is active, the previous active key becomes 'retiring'."""
        ...

    async def set_data_key_status(self, version: int, status: str) -> None: ...

    async def list_signing_keys(self) -> list[SigningKeyRecord]: ...

    async def add_signing_key(self, kid: str, algorithm: str, private_key_enc: bytes,
                              public_jwk: dict[str, Any]) -> SigningKeyRecord: ...

    async def retire_signing_key(self, kid: str, when: datetime) -> None: ...

    async def scan_encrypted(self, table: str, column: str, *, after_id: str | None,
                             limit: int) -> list[EncryptedCell]:
        """Non-null cells of one ENCRYPTED_COLUMNS pair, ordered by row id, after `after_id`."""
        ...

    async def replace_encrypted(self, cell: EncryptedCell, new_value: bytes) -> bool:
        """Compare-and-swap: write only if the cell still holds `cell.value`."""
        ...

    # -- provider connections (user_tokens) ------------------------------------
    async def upsert_connection(self, tenant_id: str, user_id: str, provider: str, *,
                                access_token_enc: bytes | None,
                                refresh_token_enc: bytes | None, expires_at: datetime | None,
                                scopes: list[str], provider_user_id: str | None, status: str,
                                meta: dict[str, Any]) -> None: ...

    async def get_connection(self, tenant_id: str, user_id: str, provider: str
                             ) -> ConnectionRecord | None: ...

    async def list_connections(self, tenant_id: str, user_id: str) -> list[ConnectionRecord]: ...

    async def delete_connection(self, tenant_id: str, user_id: str, provider: str) -> bool: ...

    async def find_connections_by_provider_user(self, provider: str, provider_user_id: str
                                                ) -> list[ConnectionRecord]:
        """Webhooks (Garmin) arrive without a tenant: the one cross-tenant lookup."""
        ...

    async def set_connection_status(self, tenant_id: str, user_id: str, provider: str,
                                    status: str) -> None: ...

    # -- OAuth: tenant apps and pending authorization states -------------------
    async def upsert_oauth_app(self, tenant_id: str, provider: str, *, client_id: str,
                               client_secret_enc: bytes, redirect_uri: str | None,
                               scopes: list[str]) -> None: ...

    async def get_oauth_app(self, tenant_id: str, provider: str) -> OAuthAppRecord | None: ...

    async def list_oauth_apps(self, tenant_id: str) -> list[OAuthAppRecord]: ...

    async def delete_oauth_app(self, tenant_id: str, provider: str) -> bool: ...

    async def save_oauth_state(self, state: str, tenant_id: str, user_id: str, provider: str,
                               data: dict[str, Any], expires_at: datetime) -> None: ...

    async def pop_oauth_state(self, state: str) -> dict[str, Any] | None:
        """Return and delete in one step (a state is single-use); None if absent or expired.
        The dict has tenant_id, user_id, provider, data."""
        ...

    # -- stored activities and daily records -----------------------------------
    async def upsert_activities(self, tenant_id: str, user_id: str, provider: str,
                                items: list[StoredActivity]) -> int:
        """Insert or update by provider_id; skip an item whose dedup_key is already stored
        for this user and provider under another provider_id. Return how many are new."""
        ...

    async def list_stored_activities(self, tenant_id: str, user_id: str, provider: str, *,
                                     before: datetime | None = None,
                                     after: datetime | None = None,
                                     sport_type: str | None = None, limit: int = 30,
                                     offset: int = 0) -> list[StoredActivity]:
        """Newest first."""
        ...

    async def get_stored_activity(self, tenant_id: str, user_id: str, provider: str,
                                  provider_id: str) -> StoredActivity | None: ...

    async def upsert_daily(self, tenant_id: str, user_id: str, provider: str, kind: str,
                           key: str, day: date, data: dict[str, Any]) -> None: ...

    async def list_daily(self, tenant_id: str, user_id: str, provider: str, kind: str,
                         start: date, end: date) -> list[dict[str, Any]]:
        """Oldest first, `start` and `end` inclusive; each dict is the stored data."""
        ...

    async def delete_provider_data(self, tenant_id: str, user_id: str, provider: str) -> int:
        """Drop the user's stored activities and daily records of one provider (on
        disconnect); return how many rows went."""
        ...

    # -- goals and settings ----------------------------------------------------
    async def create_goal(self, tenant_id: str, user_id: str, data: dict[str, Any]
                          ) -> dict[str, Any]:
        """Return data plus `id` and `created_at` (ISO string)."""
        ...

    async def list_goals(self, tenant_id: str, user_id: str) -> list[dict[str, Any]]: ...

    async def get_goal(self, tenant_id: str, user_id: str, goal_id: str
                       ) -> dict[str, Any] | None: ...

    async def update_goal(self, tenant_id: str, user_id: str, goal_id: str,
                          data: dict[str, Any]) -> dict[str, Any] | None:
        """Merge `data` into the goal; None if absent."""
        ...

    async def delete_goal(self, tenant_id: str, user_id: str, goal_id: str) -> bool: ...

    async def get_user_settings(self, tenant_id: str, user_id: str, namespace: str
                                ) -> dict[str, Any]:
        """{} when never set."""
        ...

    async def set_user_settings(self, tenant_id: str, user_id: str, namespace: str,
                                data: dict[str, Any]) -> None: ...

    # -- A2A -------------------------------------------------------------------
    async def create_a2a_client(self, tenant_id: str, user_id: str, *, name: str,
                                description: str, secret_hash: str) -> A2AClientRecord: ...

    async def get_a2a_client(self, client_id: str) -> A2AClientRecord | None:
        """No tenant: used to authenticate the client; the record carries its tenant."""
        ...

    async def list_a2a_clients(self, tenant_id: str, user_id: str | None
                               ) -> list[A2AClientRecord]: ...

    async def revoke_a2a_client(self, tenant_id: str, client_id: str) -> bool: ...

    async def touch_a2a_client(self, client_id: str, when: datetime) -> None: ...

    async def save_a2a_task(self, tenant_id: str, user_id: str, task_id: str,
                            context_id: str | None, state: str, data: dict[str, Any]) -> None:
        """Upsert by (tenant_id, task_id)."""
        ...

    async def get_a2a_task(self, tenant_id: str, task_id: str) -> dict[str, Any] | None:
        """{task_id, context_id, user_id, state, data, created_at, updated_at}."""
        ...

    async def list_a2a_tasks(self, tenant_id: str, user_id: str, *,
                             context_id: str | None = None, state: str | None = None,
                             limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first."""
        ...

    # -- audit -----------------------------------------------------------------
    async def add_audit(self, action: str, *, tenant_id: str | None, user_id: str | None = None,
                        ip: str | None = None, user_agent: str | None = None,
                        details: dict[str, Any] | None = None) -> None: ...

    async def list_audit(self, tenant_id: str | None, *, action: str | None = None,
                         user_id: str | None = None, since: datetime | None = None,
                         until: datetime | None = None, limit: int = 100,
                         offset: int = 0) -> list[AuditRecord]:
        """Newest first; tenant None = every tenant (server admin)."""
        ...
