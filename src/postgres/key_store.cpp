#include "postgres/key_store.hpp"

#include <string>

namespace tracker::postgres {

namespace {

constexpr std::string_view kUniqueViolation = "23505";

// Origins never hold a comma (domain::is_origin), so a comma list carries a text[].
std::string joined(const std::vector<std::string>& origins) {
  std::string text;
  for (const std::string& origin : origins) text += (text.empty() ? "" : ",") + origin;
  return text;
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) items.emplace_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

domain::KeyScope scope_of(std::string_view text) {
  auto scope = domain::parse_key_scope(text);
  if (!scope) throw ports::StoreRejected("api_keys: unknown scope '" + std::string(text) + "'");
  return *scope;
}

constexpr std::string_view kListColumns =
    "name, scope, prefix, array_to_string(allowed_origins, ','), "
    "to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

ports::KeyListing listing(const Result& result, int row) {
  ports::KeyListing key;
  key.name = result.text(row, 0);
  key.scope = scope_of(result.text(row, 1));
  key.prefix = result.text(row, 2);
  key.allowed_origins = split(result.text(row, 3));
  key.created_at = result.text(row, 4);
  if (!result.is_null(row, 5)) key.revoked_at = std::string(result.text(row, 5));
  return key;
}

}  // namespace

asio::awaitable<std::vector<domain::ApiKey>> KeyStore::load_active() {
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute_prepared(
      "api_keys_active",
      "select name, scope, encode(hash, 'hex'), prefix, array_to_string(allowed_origins, ',') "
      "from api_keys where revoked_at is null",
      {}, timeout_);
  std::vector<domain::ApiKey> keys;
  keys.reserve(static_cast<std::size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) {
    domain::ApiKey key;
    key.name = result.text(row, 0);
    key.scope = scope_of(result.text(row, 1));
    auto hash = domain::hash_from_hex(result.text(row, 2));
    if (!hash) throw ports::StoreRejected("api_keys: a hash is not 32 bytes");
    key.hash = *hash;
    key.prefix = result.text(row, 3);
    key.allowed_origins = split(result.text(row, 4));
    keys.push_back(std::move(key));
  }
  co_return keys;
}

asio::awaitable<void> KeyStore::create(const domain::ApiKey& key) {
  Lease db = co_await pool_.acquire(timeout_);
  const std::optional<std::string> params[] = {key.name, std::string(domain::to_string(key.scope)),
                                               "\\x" + domain::to_hex(key.hash), key.prefix,
                                               joined(key.allowed_origins)};
  try {
    co_await db->execute(
        "insert into api_keys (name, scope, hash, prefix, allowed_origins) "
        "values ($1, $2, $3::bytea, $4, coalesce(string_to_array(nullif($5, ''), ','), '{}')::text[])",
        params, timeout_);
  } catch (const SqlError& error) {
    if (error.sqlstate() != kUniqueViolation) throw;
    throw ports::KeyRefused("a key named '" + key.name + "' exists already (revoked keys keep their names)");
  }
}

asio::awaitable<std::vector<ports::KeyListing>> KeyStore::list() {
  Lease db = co_await pool_.acquire(timeout_);
  Result result = co_await db->execute("select " + std::string(kListColumns) + " from api_keys order by id", {},
                                       timeout_);
  std::vector<ports::KeyListing> keys;
  for (int row = 0; row < result.rows(); ++row) keys.push_back(listing(result, row));
  co_return keys;
}

asio::awaitable<ports::KeyListing> KeyStore::revoke(const std::string& name_or_prefix) {
  Lease db = co_await pool_.acquire(timeout_);
  // One statement: it revokes only when exactly one active key answers to the text.
  const std::optional<std::string> params[] = {name_or_prefix};
  Result result = co_await db->execute(
      "with target as (select id from api_keys where revoked_at is null and (name = $1 or prefix = $1)) "
      "update api_keys set revoked_at = now() where id in (select id from target) "
      "and (select count(*) from target) = 1 returning " + std::string(kListColumns),
      params, timeout_);
  if (result.rows() == 1) co_return listing(result, 0);
  Result matching = co_await db->execute(
      "select count(*) from api_keys where revoked_at is null and (name = $1 or prefix = $1)", params, timeout_);
  if (matching.as_int64(0, 0) == 0) throw ports::KeyRefused("no active key has the name or prefix '" + name_or_prefix + "'");
  throw ports::KeyRefused(std::to_string(matching.as_int64(0, 0)) + " active keys answer to '" + name_or_prefix +
                          "'; revoke by name");
}

}  // namespace tracker::postgres
