// Named API tokens for TCP clients (`jobctl token create NAME --role R`):
// 32 random bytes, shown once; jobd keeps only their BLAKE2b hash (libsodium),
// in memory by hash and durably in the store. A presented token is hashed and
// looked up: a guess learns nothing from the lookup's timing but whether its
// hash exists, which is the answer anyway.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "store/store.hpp"

namespace jobd {

class Tokens {
 public:
  explicit Tokens(std::vector<job::store::TokenRecord> saved);
  // A new secret and its record (not yet saved: the caller stores it, then add()s it).
  static std::pair<std::string, job::store::TokenRecord> mint(std::string name, std::string role, std::string ns,
                                                              std::string created_by, job::time::Instant now);
  static std::string hash(const std::string& secret);
  void add(job::store::TokenRecord record);
  bool remove(const std::string& name);
  const job::store::TokenRecord* find_by_secret(const std::string& secret) const;
  const job::store::TokenRecord* find(const std::string& name) const;
  std::vector<const job::store::TokenRecord*> list() const;

 private:
  std::map<std::string, job::store::TokenRecord> by_name_;
  std::map<std::string, std::string> name_by_hash_;
};

}  // namespace jobd
