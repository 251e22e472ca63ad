// jobd's durable state: one SQLite database (WAL) per node. The schema is a
// numbered list of migrations, applied at open. The daemon saves everything
// one loop turn changed in one transaction (group commit) and acknowledges
// nothing before that transaction is durable. One Store per process and thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "sched/model.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace job::store {

// How far a save must reach before save() returns. Both survive a crash of
// jobd (kill -9): the data is in the kernel's page cache. Only `durable`
// survives power loss, and it makes every earlier `lazy` save durable too,
// because both append to the one WAL file that its fsync covers.
enum class Durability {
  durable,  // fsync (synchronous=FULL): for anything acknowledged or acted on
  lazy,     // no fsync (synchronous=NORMAL): facts a power loss may roll back
};

// One mutating request, as the audit table keeps it (jobctl audit).
struct AuditEntry {
  int64_t id = 0;  // assigned by the database
  time::Instant at{};
  std::string who;     // "alice", "token ci", "worker w1"
  std::string role;    // admin, operator, viewer, worker
  std::string peer;    // "uid 1000", or a TCP client's HOST:PORT
  std::string op;      // submit, cancel, token_create...
  std::string target;  // the job (NS/NAME), run or token it was about
  bool ok = false;
  std::string result;  // "ok", or the error's code and message
};

// A named API token (jobctl token): only a hash of the secret is kept.
struct TokenRecord {
  std::string name;
  std::string hash;  // hex BLAKE2b of the secret (daemon/tokens.hpp)
  std::string role;
  std::string ns;
  time::Instant created_at{};
  std::string created_by;
};

struct Snapshot {
  std::vector<sched::Job> jobs;
  std::vector<sched::Run> runs;
};

class Store {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  static Result<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Result<Snapshot> load();

  // Writes these jobs and runs in one transaction. On error nothing of it is
  // kept (Errc::storage, with SQLite's words: "database or disk is full").
  // Removals (retention) go in the same transaction.
  std::optional<Error> save(const std::vector<const sched::Job*>& jobs,
                            const std::vector<const sched::Run*>& runs,
                            Durability durability = Durability::durable,
                            const std::vector<int64_t>& removed_runs = {},
                            const std::vector<int64_t>& removed_jobs = {});

  int schema_version() const { return version_; }

  // Audit entries go into the next save()'s transaction, with the changes
  // they describe; entries beyond the newest `keep` are pruned there.
  void append_audit(AuditEntry entry) { audit_.push_back(std::move(entry)); }
  void set_audit_keep(int64_t keep) { audit_keep_ = keep; }
  // Newest last: entries at or after `since`, at most `limit` (the newest).
  Result<std::vector<AuditEntry>> audit(time::Instant since, int64_t limit);

  // Tokens are written at once, each in its own durable transaction.
  Result<std::vector<TokenRecord>> load_tokens();
  std::optional<Error> put_token(const TokenRecord& token);
  std::optional<Error> delete_token(const std::string& name);

  // Caps the database at `pages` pages, so that tests can fill the "disk".
  void limit_pages_for_test(int64_t pages);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  std::optional<Error> migrate();
  std::optional<Error> exec(const char* sql);
  std::optional<Error> step(sqlite3_stmt* statement, std::string_view what);
  std::optional<Error> set_durability(Durability durability);
  Error failure(std::string_view what) const;
  std::optional<Error> write_audit(const std::vector<AuditEntry>& entries);  // inside save()'s transaction

  sqlite3* db_;
  sqlite3_stmt* put_job_ = nullptr;
  sqlite3_stmt* put_run_ = nullptr;
  // Parsed once: at thousands of commits a second, parsing "BEGIN" shows.
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* del_run_ = nullptr;
  sqlite3_stmt* del_job_ = nullptr;
  sqlite3_stmt* put_audit_ = nullptr;  // prepared at its first use
  Durability durability_ = Durability::durable;
  int version_ = 0;
  std::vector<AuditEntry> audit_;  // not yet saved
  int64_t audit_keep_ = 100000;
  int64_t audit_since_prune_ = 0;
};

}  // namespace job::store
