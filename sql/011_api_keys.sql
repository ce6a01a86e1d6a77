-- 011_api_keys: API keys (event-tracker keys create / list / revoke). Only a key's SHA-256
-- is stored, never the key: a key is shown once, when it is created. `prefix` is the
-- key's first characters (scope prefix and 8 more), for listing and revoking by it.
-- A revoked key stays, with revoked_at, so its name stays taken and the record says when.
--
-- Applied by tools/dev.sh (psql --single-transaction, recorded in
-- schema_migrations). Do not add BEGIN/COMMIT here.
create table api_keys (
    id              bigint generated always as identity primary key,
    name            text        not null unique check (length(name) between 1 and 100),
    scope           text        not null check (scope in ('write', 'read', 'admin')),
    hash            bytea       not null unique check (length(hash) = 32),
    prefix          text        not null,
    -- Origins (scheme://host[:port], lower case) whose pages may send with a write key;
    -- empty: any.
    allowed_origins text[]      not null default '{}',
    created_at      timestamptz not null default now(),
    revoked_at      timestamptz
);
-- Every server reads the active keys every 2 s.
create index api_keys_active_idx on api_keys (id) where revoked_at is null;
