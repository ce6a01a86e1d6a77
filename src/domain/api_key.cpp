#include "domain/api_key.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace tracker::domain {

namespace {

constexpr std::string_view kBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Fetching the digest by name takes a lock and a lookup in OpenSSL 3; one per thread.
const EVP_MD* sha256() {
  thread_local struct Fetched {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    ~Fetched() { EVP_MD_free(md); }
  } fetched;
  return fetched.md;
}

}  // namespace

std::string_view to_string(KeyScope scope) {
  switch (scope) {
    case KeyScope::write: return "write";
    case KeyScope::read: return "read";
    case KeyScope::admin: return "admin";
  }
  return "write";
}

std::optional<KeyScope> parse_key_scope(std::string_view text) {
  if (text == "write") return KeyScope::write;
  if (text == "read") return KeyScope::read;
  if (text == "admin") return KeyScope::admin;
  return std::nullopt;
}

std::string_view scope_prefix(KeyScope scope) {
  switch (scope) {
    case KeyScope::write: return "etw_";
    case KeyScope::read: return "etr_";
    case KeyScope::admin: return "eta_";
  }
  return "etw_";
}

std::optional<KeyScope> key_shape(std::string_view key) {
  if (key.size() != kKeyLength) return std::nullopt;
  std::optional<KeyScope> scope;
  for (KeyScope candidate : {KeyScope::write, KeyScope::read, KeyScope::admin}) {
    if (key.starts_with(scope_prefix(candidate))) scope = candidate;
  }
  if (!scope) return std::nullopt;
  if (!std::all_of(key.begin() + kKeyPrefixLength, key.end(), is_base62)) return std::nullopt;
  return scope;
}

KeyHash hash_key(std::string_view key) {
  KeyHash hash{};
  unsigned int length = 0;
  const EVP_MD* md = sha256();
  if (!md || EVP_Digest(key.data(), key.size(), hash.data(), &length, md, nullptr) != 1 || length != hash.size()) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return hash;
}

std::string to_hex(const KeyHash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(hash.size() * 2);
  for (unsigned char byte : hash) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0xf]);
  }
  return hex;
}

std::optional<KeyHash> hash_from_hex(std::string_view hex) {
  KeyHash hash{};
  if (hex.size() != hash.size() * 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hash.size(); ++i) {
    int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    hash[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return hash;
}

std::string generate_key(KeyScope scope) {
  std::string key(scope_prefix(scope));
  // Rejection sampling: bytes of 248 and above would make the first 62 * 4 values likelier.
  unsigned char bytes[64];
  while (key.size() < kKeyLength) {
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("the random number generator failed");
    for (unsigned char byte : bytes) {
      if (byte >= 248 || key.size() == kKeyLength) continue;
      key.push_back(kBase62[byte % 62]);
    }
  }
  return key;
}

std::string display_prefix(std::string_view key) { return std::string(key.substr(0, kKeyDisplayLength)); }

bool is_key_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (KeyScope scope : {KeyScope::write, KeyScope::read, KeyScope::admin}) {
    if (name.starts_with(scope_prefix(scope))) return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_base62(c) || c == '.' || c == '_' || c == '-' || c == '@'; });
}

bool is_origin(std::string_view text) {
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  std::string_view host = text.substr(scheme_end + 3);
  if (host.empty()) return false;
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || c == ',') return false;
  }
  return host.find_first_of("/?#@") == std::string_view::npos;
}

std::vector<std::string> parse_origins(std::string_view comma_list) {
  std::vector<std::string> origins;
  std::size_t start = 0;
  while (start <= comma_list.size()) {
    std::size_t comma = std::min(comma_list.find(',', start), comma_list.size());
    std::string_view item = trimmed(comma_list.substr(start, comma - start));
    if (!item.empty() && item.back() == '/') item.remove_suffix(1);  // as browsers never send it
    if (!item.empty()) {
      if (!is_origin(item)) {
        throw std::invalid_argument("'" + std::string(item) + "' is not an origin like https://shop.example:8443");
      }
      std::string origin = lower(item);
      if (std::find(origins.begin(), origins.end(), origin) == origins.end()) origins.push_back(std::move(origin));
    }
    start = comma + 1;
  }
  return origins;
}

bool ApiKey::allows_origin(std::string_view origin) const {
  if (allowed_origins.empty()) return true;
  return std::any_of(allowed_origins.begin(), allowed_origins.end(), [&](const std::string& allowed) {
    return allowed.size() == origin.size() &&
           std::equal(allowed.begin(), allowed.end(), origin.begin(),
                      [](char a, unsigned char b) { return a == static_cast<char>(std::tolower(b)); });
  });
}

}  // namespace tracker::domain
