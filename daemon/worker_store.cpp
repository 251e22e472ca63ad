#include "worker_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

namespace jobd {
namespace {

// The schema, one migration per entry; entry n brings user_version to n + 1.
// Never edit an entry that has shipped: append a new one.
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
    CREATE TABLE runs (
      run         INTEGER PRIMARY KEY,       -- the coordinator's run id
      epoch       INTEGER NOT NULL,          -- the lease's fencing epoch
      job         TEXT NOT NULL,
      assigned_at INTEGER NOT NULL,          -- milliseconds since the epoch, wall clock
      status      INTEGER,                   -- waitpid() status; NULL until it ended
      error       TEXT NOT NULL DEFAULT '',  -- why it could not start
      state       TEXT NOT NULL DEFAULT 'held',
      -- NULL while held; then the order runs were closed in, which the
      -- history cap prunes by (it is not a time: a clock may step back).
      closed      INTEGER,
      CHECK ((state = 'held') = (closed IS NULL))
    );
    CREATE INDEX runs_held ON runs (assigned_at, run) WHERE closed IS NULL;
    CREATE INDEX runs_closed ON runs (closed) WHERE closed IS NOT NULL;
    CREATE INDEX runs_by_assignment ON runs (assigned_at, run);
    )sql",
};

constexpr std::string_view state_name(WorkerRun::State s) {
  switch (s) {
    case WorkerRun::State::held:
      return "held";
    case WorkerRun::State::reported:
      return "reported";
    case WorkerRun::State::forgotten:
      return "forgotten";
  }
  return "held";
}

std::optional<WorkerRun::State> state_from(std::string_view name) {
  for (auto s : {WorkerRun::State::held, WorkerRun::State::reported, WorkerRun::State::forgotten})
    if (state_name(s) == name) return s;
  return std::nullopt;
}

std::string column_text(sqlite3_stmt* st, int i) {
  const auto* text = sqlite3_column_text(st, i);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

// The columns rows() reads, in its order.
constexpr std::string_view kRunColumns = "run, epoch, job, assigned_at, status, error, state";

}  // namespace

job::Error WorkerStore::failure(const char* what) const {
  return job::Error{job::Errc::storage,
                    fmt::format("worker database {}: {}: {}", path_, what, sqlite3_errmsg(db_))};
}

std::optional<job::Error> WorkerStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    job::Error e{job::Errc::storage,
                 fmt::format("worker database {}: {}", path_, message ? message : sqlite3_errmsg(db_))};
    sqlite3_free(message);
    return e;
  }
  return std::nullopt;
}

job::Result<std::unique_ptr<WorkerStore>> WorkerStore::open(const std::string& path, int64_t history) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    // SQLite says only "unable to open database file"; the system says why.
    const int err = db ? sqlite3_system_errno(db) : 0;
    job::Error e{
        job::Errc::storage,
        fmt::format("cannot open worker database {}: {}{}", path, db ? sqlite3_errmsg(db) : "out of memory",
                    err ? fmt::format(" ({})", std::strerror(err)) : std::string())};
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<WorkerStore> store(new WorkerStore(db, path, std::max<int64_t>(history, 0)));
  // WAL with synchronous=NORMAL: a commit is a write() to the WAL, no fsync.
  // That survives the worker's own crash (kill -9): the data is in the
  // kernel's page cache. A power loss may take the last commits, but it takes
  // the worker's runs with it too: their leases expire and the coordinator
  // retries them, as it would without this file. Normal locking, not
  // exclusive: an operator can read the file with sqlite3 while the worker runs.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"})
    if (auto e = store->exec(pragma)) return *e;
  if (auto e = store->migrate()) return *e;
  const std::string unfinished =
      fmt::format("SELECT {} FROM runs WHERE closed IS NULL ORDER BY assigned_at, run", kRunColumns);
  const std::string recent =
      fmt::format("SELECT {} FROM runs ORDER BY assigned_at DESC, run DESC LIMIT ?1", kRunColumns);
  const std::pair<const char*, sqlite3_stmt**> statements[] = {
      {"BEGIN IMMEDIATE", &store->begin_},
      {"COMMIT", &store->commit_},
      {"ROLLBACK", &store->rollback_},
      {"INSERT INTO runs (run, epoch, job, assigned_at) VALUES (?1, ?2, ?3, ?4) "
       "ON CONFLICT (run) DO UPDATE SET epoch = ?2, job = ?3, assigned_at = ?4, status = NULL, error = '', "
       "state = 'held', closed = NULL",
       &store->assign_},
      {"UPDATE runs SET status = ?2, error = '' WHERE run = ?1", &store->end_},
      {"UPDATE runs SET status = NULL, error = ?2 WHERE run = ?1", &store->fail_},
      {"UPDATE runs SET state = ?2, closed = ?3 WHERE run = ?1 AND state = 'held'", &store->close_},
      // Uses runs_closed: as cheap as the rows it removes, whatever the history's size.
      {"DELETE FROM runs WHERE closed <= ?1 RETURNING run", &store->prune_},
      {unfinished.c_str(), &store->unfinished_},
      {recent.c_str(), &store->recent_},
  };
  for (const auto& [sql, statement] : statements)
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) != SQLITE_OK)
      return store->failure("prepare");
  // Where the closing order goes on (the partial index makes this one lookup).
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT MAX(closed) FROM runs WHERE closed IS NOT NULL", -1, &st, nullptr) !=
          SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return store->failure("read history");
  }
  store->last_closed_ = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return store;
}

WorkerStore::~WorkerStore() {
  for (sqlite3_stmt* statement :
       {begin_, commit_, rollback_, assign_, end_, fail_, close_, prune_, unfinished_, recent_})
    sqlite3_finalize(statement);
  sqlite3_close(db_);  // an open transaction is rolled back
}

void WorkerStore::limit_pages_for_test(int64_t pages) {
  exec(fmt::format("PRAGMA max_page_count = {}", pages).c_str());
}

std::optional<job::Error> WorkerStore::migrate() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return failure("read schema version");
  }
  int version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version > static_cast<int>(kMigrations.size()))
    return job::Error{
        job::Errc::storage,
        fmt::format("worker database {}: schema version {} is newer than this jobd ({}); upgrade jobd", path_,
                    version, kMigrations.size())};
  while (version < static_cast<int>(kMigrations.size())) {
    const std::string sql = fmt::format("BEGIN; {} PRAGMA user_version = {}; COMMIT;",
                                        kMigrations[static_cast<size_t>(version)], version + 1);
    if (auto e = exec(sql.c_str())) {
      exec("ROLLBACK");
      return job::Error{job::Errc::storage, fmt::format("{} (migration {})", e->message, version + 1)};
    }
    ++version;
  }
  return std::nullopt;
}

bool WorkerStore::write(sqlite3_stmt* statement, const char* what) {
  // After a failure the batch is lost (SQLite may have rolled it back
  // already): later writes of it would apply to a state that is not there.
  if (!failed_ && !in_batch_) {
    if (sqlite3_step(begin_) == SQLITE_DONE)
      in_batch_ = true;
    else
      failed_ = failure("begin");
    sqlite3_reset(begin_);
  }
  if (!failed_ && sqlite3_step(statement) != SQLITE_DONE) failed_ = failure(what);
  sqlite3_reset(statement);
  return !failed_;
}

void WorkerStore::assigned(int64_t run, uint64_t epoch, const std::string& job, int64_t now_ms) {
  sqlite3_bind_int64(assign_, 1, run);
  sqlite3_bind_int64(assign_, 2, static_cast<int64_t>(epoch));
  sqlite3_bind_text(assign_, 3, job.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(assign_, 4, now_ms);
  write(assign_, "record an assignment");
}

void WorkerStore::ended(int64_t run, int status) {
  sqlite3_bind_int64(end_, 1, run);
  sqlite3_bind_int(end_, 2, status);
  write(end_, "record an end");
}

void WorkerStore::failed_to_start(int64_t run, const std::string& reason) {
  sqlite3_bind_int64(fail_, 1, run);
  sqlite3_bind_text(fail_, 2, reason.c_str(), -1, SQLITE_TRANSIENT);
  write(fail_, "record a failed start");
}

void WorkerStore::reported(int64_t run) { close_run(run, WorkerRun::State::reported); }
void WorkerStore::forget(int64_t run) { close_run(run, WorkerRun::State::forgotten); }

void WorkerStore::close_run(int64_t run, WorkerRun::State state) {
  const std::string_view name = state_name(state);
  sqlite3_bind_int64(close_, 1, run);
  sqlite3_bind_text(close_, 2, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  sqlite3_bind_int64(close_, 3, last_closed_ + 1);
  // Only a held run changes: the number is used only if one did.
  if (write(close_, "close a run") && sqlite3_changes(db_) > 0) {
    ++last_closed_;
    closed_in_batch_ = true;
  }
}

std::optional<job::Error> WorkerStore::commit() {
  if (!in_batch_ && !failed_) return std::nullopt;
  // Keep the newest history_ closed runs: numbers up to last_closed_ -
  // history_ belong to older ones (fewer are kept if some were reassigned).
  std::vector<int64_t> pruned;
  if (closed_in_batch_ && last_closed_ > history_ && !failed_) {
    sqlite3_bind_int64(prune_, 1, last_closed_ - history_);
    int rc;
    while ((rc = sqlite3_step(prune_)) == SQLITE_ROW) pruned.push_back(sqlite3_column_int64(prune_, 0));
    if (rc != SQLITE_DONE) failed_ = failure("prune the history");
    sqlite3_reset(prune_);
  }
  if (!failed_) {
    if (sqlite3_step(commit_) != SQLITE_DONE) failed_ = failure("commit");
    sqlite3_reset(commit_);
  }
  if (failed_ && !sqlite3_get_autocommit(db_)) {
    sqlite3_step(rollback_);
    sqlite3_reset(rollback_);
  }
  in_batch_ = false;
  closed_in_batch_ = false;
  if (!failed_) pruned_.insert(pruned_.end(), pruned.begin(), pruned.end());
  return std::exchange(failed_, std::nullopt);
}

job::Result<std::vector<WorkerRun>> WorkerStore::rows(sqlite3_stmt* st, const char* what) const {
  std::vector<WorkerRun> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    WorkerRun r;
    r.run = sqlite3_column_int64(st, 0);
    r.epoch = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
    r.job = column_text(st, 2);
    r.assigned_at_ms = sqlite3_column_int64(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) r.status = sqlite3_column_int(st, 4);
    r.error = column_text(st, 5);
    const auto state = state_from(column_text(st, 6));
    if (!state) {
      sqlite3_reset(st);
      return job::Error{job::Errc::storage,
                        fmt::format("worker database {}: run {} is corrupt", path_, r.run)};
    }
    r.state = *state;
    out.push_back(std::move(r));
  }
  std::optional<job::Error> e;
  if (rc != SQLITE_DONE) e = failure(what);
  sqlite3_reset(st);
  if (e) return *e;
  return out;
}

job::Result<std::vector<WorkerRun>> WorkerStore::unfinished() const {
  return rows(unfinished_, "read held runs");
}

job::Result<std::vector<WorkerRun>> WorkerStore::recent(size_t limit) const {
  sqlite3_bind_int64(recent_, 1,
                     static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  return rows(recent_, "read recent runs");
}

}  // namespace jobd
