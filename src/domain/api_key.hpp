#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// API keys: what a key looks like, its scope and what is stored of it. No I/O but the
// random bytes a new key is made of.
namespace tracker::domain {

// What a key may call: write (ingestion, the posts API), read (statistics, rankings, the
// event explorer) or admin (deletion; an admin key also passes read and write routes).
enum class KeyScope { write, read, admin };
std::string_view to_string(KeyScope scope);
std::optional<KeyScope> parse_key_scope(std::string_view text);

// A key is its scope's prefix (etw_, etr_, eta_) and 32 base62 characters: 190 bits from
// the operating system's CSPRNG. The prefix tells a leaked key's scope at a glance and lets
// secret scanners find it.
inline constexpr std::size_t kKeySecretLength = 32;
inline constexpr std::size_t kKeyPrefixLength = 4;  // "etw_"
inline constexpr std::size_t kKeyLength = kKeyPrefixLength + kKeySecretLength;
// The part of a key shown by `keys list` and accepted by `keys revoke`: the scope prefix
// and the first 8 secret characters. Not enough to guess the rest (143 bits stay).
inline constexpr std::size_t kKeyDisplayLength = kKeyPrefixLength + 8;

std::string_view scope_prefix(KeyScope scope);
// The scope a key's text claims by its prefix; nullopt when it is not shaped like a key
// (wrong length, prefix or characters), so that garbage never reaches a hash.
std::optional<KeyScope> key_shape(std::string_view key);

using KeyHash = std::array<unsigned char, 32>;  // SHA-256
KeyHash hash_key(std::string_view key);
std::string to_hex(const KeyHash& hash);
std::optional<KeyHash> hash_from_hex(std::string_view hex);

// A new random key of `scope`. Throws std::runtime_error when the CSPRNG fails.
std::string generate_key(KeyScope scope);
std::string display_prefix(std::string_view key);

// Origins a write key's pages may send from ("authorized URLs"): scheme://host[:port],
// compared without case; empty = any. parse_origins reads a comma list and throws
// std::invalid_argument on an entry that is not an origin.
std::vector<std::string> parse_origins(std::string_view comma_list);
bool is_origin(std::string_view text);

// A key's name: 1 to 100 letters, digits, '.', '_', '-' and '@', not starting like a key
// (etw_, etr_, eta_), so that `keys revoke` never takes a name for a prefix.
bool is_key_name(std::string_view name);

// What the server knows of an active key: never the key itself.
struct ApiKey {
  std::string name;
  KeyScope scope = KeyScope::write;
  KeyHash hash{};
  std::string prefix;                        // display_prefix() of the key
  std::vector<std::string> allowed_origins;  // lower case; empty = any
  bool allows_origin(std::string_view origin) const;
  // Whether this key may call a route that needs `needed`: its own scope, or admin.
  bool covers(KeyScope needed) const { return scope == needed || scope == KeyScope::admin; }
};

}  // namespace tracker::domain
