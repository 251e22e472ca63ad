#include "tokens.hpp"

#include <sodium.h>

namespace jobd {

namespace {
constexpr size_t kSecretBytes = 32;
constexpr std::string_view kPrefix = "jobd_";  // says what it is, in a file or a leak scanner

std::string hex(const unsigned char* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}
}  // namespace

Tokens::Tokens(std::vector<job::store::TokenRecord> saved) {
  for (auto& t : saved) add(std::move(t));
}

std::string Tokens::hash(const std::string& secret) {
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     nullptr, 0);
  return hex(digest, sizeof digest);
}

std::pair<std::string, job::store::TokenRecord> Tokens::mint(std::string name, std::string role, std::string ns,
                                                             std::string created_by, job::time::Instant now) {
  unsigned char bytes[kSecretBytes];
  randombytes_buf(bytes, sizeof bytes);
  std::string secret = std::string(kPrefix) + hex(bytes, sizeof bytes);
  sodium_memzero(bytes, sizeof bytes);
  job::store::TokenRecord record{std::move(name), hash(secret), std::move(role), std::move(ns), now,
                                 std::move(created_by)};
  return {std::move(secret), std::move(record)};
}

void Tokens::add(job::store::TokenRecord record) {
  name_by_hash_[record.hash] = record.name;
  std::string name = record.name;
  by_name_[name] = std::move(record);
}

bool Tokens::remove(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  name_by_hash_.erase(it->second.hash);
  by_name_.erase(it);
  return true;
}

const job::store::TokenRecord* Tokens::find_by_secret(const std::string& secret) const {
  auto it = name_by_hash_.find(hash(secret));
  return it == name_by_hash_.end() ? nullptr : find(it->second);
}

const job::store::TokenRecord* Tokens::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

std::vector<const job::store::TokenRecord*> Tokens::list() const {
  std::vector<const job::store::TokenRecord*> out;
  for (const auto& [name, t] : by_name_) out.push_back(&t);
  return out;
}

}  // namespace jobd
