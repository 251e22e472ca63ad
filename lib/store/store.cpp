#include "store/store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <utility>

#include "proto/codec.hpp"
#include "store/columns.hpp"

namespace job::store {
namespace {

// The schema, one migration per entry; entry n brings user_version to n + 1.
// Never edit an entry that has shipped: append a new one.
constexpr std::array<const char*, 6> kMigrations = {
    R"sql(
    CREATE TABLE jobs (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      spec       TEXT NOT NULL,      -- the JobSpec as JSON (proto/codec)
      state      TEXT NOT NULL,
      created_at INTEGER NOT NULL,   -- microseconds since the epoch, UTC
      next_fire  INTEGER
    );
    CREATE TABLE runs (
      id           INTEGER PRIMARY KEY,
      job_id       INTEGER NOT NULL REFERENCES jobs (id),
      attempt      INTEGER NOT NULL,
      state        TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      scheduled_at INTEGER NOT NULL,
      started_at   INTEGER,
      finished_at  INTEGER,
      exit_code    INTEGER,
      signal       INTEGER NOT NULL,
      pid          INTEGER NOT NULL,
      pid_start    INTEGER NOT NULL,
      reason       TEXT NOT NULL
    );
    CREATE INDEX runs_by_job ON runs (job_id, id);
    )sql",
    // 2: attempts, missed fires, cancellation.
    R"sql(
    ALTER TABLE runs ADD COLUMN retry_at INTEGER;
    ALTER TABLE runs ADD COLUMN retry_of INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN next_attempt INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN missed_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN missed_since INTEGER;
    ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 3: task graphs: a task run names its job run and its task.
    R"sql(
    ALTER TABLE runs ADD COLUMN parent INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN task TEXT NOT NULL DEFAULT '';
    )sql",
    // 4: jobs remember the file they were applied from.
    R"sql(
    ALTER TABLE jobs ADD COLUMN source TEXT NOT NULL DEFAULT '';
    )sql",
    // 5: cluster mode: the worker a run was leased to, and the lease's epoch.
    R"sql(
    ALTER TABLE runs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 6: security: who did what (jobctl audit), and named API tokens.
    R"sql(
    CREATE TABLE audit (
      id     INTEGER PRIMARY KEY,
      at     INTEGER NOT NULL,
      who    TEXT NOT NULL,
      role   TEXT NOT NULL,
      peer   TEXT NOT NULL,
      op     TEXT NOT NULL,
      target TEXT NOT NULL,
      ok     INTEGER NOT NULL,
      result TEXT NOT NULL
    );
    CREATE INDEX audit_by_time ON audit (at);
    CREATE TABLE tokens (
      name       TEXT PRIMARY KEY,
      hash       TEXT NOT NULL UNIQUE,
      role       TEXT NOT NULL,
      namespace  TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      created_by TEXT NOT NULL
    );
    )sql",
};

}  // namespace

Error Store::failure(std::string_view what) const {
  return Error{Errc::storage, fmt::format("database: {}: {}", what, sqlite3_errmsg(db_))};
}

std::optional<Error> Store::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    Error e{Errc::storage, fmt::format("database: {}", message ? message : "error")};
    sqlite3_free(message);
    return e;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Error e{Errc::storage,
            fmt::format("cannot open database {}: {}", path, db ? sqlite3_errmsg(db) : "out of memory")};
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Store> store(new Store(db));
  // WAL with synchronous=FULL: a committed transaction survives power loss.
  // save() lowers it to NORMAL for the transactions that may be rolled back.
  // Exclusive locking: jobd is the database's only user (its lock file sees
  // to that), so SQLite takes its locks once instead of several fcntl()
  // calls per transaction, and keeps the WAL index in memory, not in -shm.
  for (const char* pragma : {"PRAGMA locking_mode=EXCLUSIVE", "PRAGMA journal_mode=WAL",
                             "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"})
    if (auto e = store->exec(pragma)) return *e;
  if (auto e = store->migrate()) return *e;
  const char* put_job =
      "INSERT INTO jobs (id, name, spec, state, created_at, next_fire, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT (id) DO UPDATE SET name = ?2, spec = ?3, state = ?4, next_fire = ?6, source = ?7";
  const char* put_run =
      "INSERT INTO runs (id, job_id, attempt, state, created_at, scheduled_at, started_at, finished_at, "
      "exit_code, signal, pid, pid_start, reason, retry_at, retry_of, next_attempt, missed_count, "
      "missed_since, "
      "cancel_requested, parent, task, worker, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) "
      "ON CONFLICT (id) DO UPDATE SET state = ?4, started_at = ?7, finished_at = ?8, exit_code = ?9, "
      "signal = ?10, pid = ?11, pid_start = ?12, reason = ?13, retry_at = ?14, next_attempt = ?16, "
      "cancel_requested = ?19, worker = ?22, epoch = ?23";
  const std::pair<const char*, sqlite3_stmt**> statements[] = {
      {put_job, &store->put_job_},
      {put_run, &store->put_run_},
      {"BEGIN IMMEDIATE", &store->begin_},
      {"COMMIT", &store->commit_},
      {"ROLLBACK", &store->rollback_},
      {"DELETE FROM runs WHERE id = ?1", &store->del_run_},
      {"DELETE FROM jobs WHERE id = ?1", &store->del_job_},
  };
  for (const auto& [sql, statement] : statements)
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) != SQLITE_OK)
      return store->failure("prepare");
  return store;
}

Store::~Store() {
  for (sqlite3_stmt* statement : {put_job_, put_run_, begin_, commit_, rollback_, del_run_, del_job_, put_audit_})
    sqlite3_finalize(statement);
  sqlite3_close(db_);
}

void Store::limit_pages_for_test(int64_t pages) {
  exec(fmt::format("PRAGMA max_page_count = {}", pages).c_str());
}

std::optional<Error> Store::migrate() {
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &st, nullptr);
  version_ = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  if (version_ > static_cast<int>(kMigrations.size()))
    return Error{Errc::storage, fmt::format("database schema version {} is newer than this jobd ({}); "
                                            "upgrade jobd",
                                            version_, kMigrations.size())};
  while (version_ < static_cast<int>(kMigrations.size())) {
    const std::string sql = fmt::format("BEGIN; {} PRAGMA user_version = {}; COMMIT;",
                                        kMigrations[static_cast<size_t>(version_)], version_ + 1);
    if (auto e = exec(sql.c_str())) {
      exec("ROLLBACK");
      return Error{Errc::storage, fmt::format("migration {}: {}", version_ + 1, e->message)};
    }
    ++version_;
  }
  return std::nullopt;
}

Result<Snapshot> Store::load() {
  Snapshot snap;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT id, spec, state, created_at, next_fire, source FROM jobs ORDER BY id", -1, &st,
                         nullptr) != SQLITE_OK)
    return failure("load jobs");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sched::Job job;
    job.id = sqlite3_column_int64(st, 0);
    auto json = proto::Json::parse(column_text(st, 1), nullptr, false);
    auto spec = proto::spec_from_json(json);
    auto state = sched::job_state_from(column_text(st, 2));
    if (!spec || !state) {
      sqlite3_finalize(st);
      return Error{Errc::storage, fmt::format("database: job {} is corrupt{}", job.id,
                                              spec ? "" : ": " + spec.error().message)};
    }
    job.spec = std::move(*spec);
    job.state = *state;
    job.created_at = instant(sqlite3_column_int64(st, 3));
    job.next_fire = column_instant(st, 4);
    job.source = column_text(st, 5);
    snap.jobs.push_back(std::move(job));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return failure("load jobs");

  if (sqlite3_prepare_v2(
          db_,
          "SELECT id, job_id, attempt, state, created_at, scheduled_at, started_at, finished_at, "
          "exit_code, signal, pid, pid_start, reason, retry_at, retry_of, next_attempt, missed_count, "
          "missed_since, cancel_requested, parent, task, worker, epoch FROM runs ORDER BY id",
          -1, &st, nullptr) != SQLITE_OK)
    return failure("load runs");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    sched::Run run;
    run.id = sqlite3_column_int64(st, 0);
    run.job = sqlite3_column_int64(st, 1);
    run.attempt = sqlite3_column_int(st, 2);
    auto state = sched::run_state_from(column_text(st, 3));
    if (!state) {
      sqlite3_finalize(st);
      return Error{Errc::storage, fmt::format("database: run {} is corrupt", run.id)};
    }
    run.state = *state;
    run.created_at = instant(sqlite3_column_int64(st, 4));
    run.scheduled_at = instant(sqlite3_column_int64(st, 5));
    run.started_at = column_instant(st, 6);
    run.finished_at = column_instant(st, 7);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) run.exit_code = sqlite3_column_int(st, 8);
    run.signal = sqlite3_column_int(st, 9);
    run.pid = sqlite3_column_int64(st, 10);
    run.pid_start = sqlite3_column_int64(st, 11);
    run.reason = column_text(st, 12);
    run.retry_at = column_instant(st, 13);
    run.retry_of = sqlite3_column_int64(st, 14);
    run.next_attempt = sqlite3_column_int64(st, 15);
    run.missed_count = sqlite3_column_int64(st, 16);
    run.missed_since = column_instant(st, 17);
    run.cancel_requested = sqlite3_column_int(st, 18) != 0;
    run.parent = sqlite3_column_int64(st, 19);
    run.task = column_text(st, 20);
    run.worker = column_text(st, 21);
    run.epoch = static_cast<uint64_t>(sqlite3_column_int64(st, 22));
    snap.runs.push_back(std::move(run));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return failure("load runs");
  return snap;
}

std::optional<Error> Store::step(sqlite3_stmt* statement, std::string_view what) {
  const int rc = sqlite3_step(statement);
  std::optional<Error> e;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) e = failure(what);
  sqlite3_reset(statement);
  return e;
}

std::optional<Error> Store::set_durability(Durability durability) {
  if (durability == durability_) return std::nullopt;
  // Not a prepared statement: SQLite applies this pragma when it compiles it.
  if (auto e =
          exec(durability == Durability::durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"))
    return e;
  durability_ = durability;
  return std::nullopt;
}

std::optional<Error> Store::save(const std::vector<const sched::Job*>& jobs,
                                 const std::vector<const sched::Run*>& runs, Durability durability,
                                 const std::vector<int64_t>& removed_runs,
                                 const std::vector<int64_t>& removed_jobs) {
  if (jobs.empty() && runs.empty() && removed_runs.empty() && removed_jobs.empty() && audit_.empty())
    return std::nullopt;
  // Entries describe this transaction's changes: they go with it, saved or not.
  const std::vector<AuditEntry> audit = std::exchange(audit_, {});
  if (auto e = set_durability(durability)) return e;
  if (auto e = step(begin_, "begin")) return e;
  auto fail = [&](std::string_view what) {
    Error e = failure(what);
    step(rollback_, "rollback");
    return e;
  };
  for (const sched::Job* job : jobs) {
    const std::string spec = proto::spec_to_json(job->spec).dump();
    sqlite3_bind_int64(put_job_, 1, job->id);
    sqlite3_bind_text(put_job_, 2, job->spec.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(put_job_, 3, spec.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(put_job_, 4, sched::name(job->state).data(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(put_job_, 5, micros(job->created_at));
    bind_optional(put_job_, 6, job->next_fire);
    sqlite3_bind_text(put_job_, 7, job->source.c_str(), -1, SQLITE_TRANSIENT);
    const int rc = sqlite3_step(put_job_);
    sqlite3_reset(put_job_);
    if (rc != SQLITE_DONE) return std::optional<Error>(fail("save job"));
  }
  for (const sched::Run* run : runs) {
    sqlite3_bind_int64(put_run_, 1, run->id);
    sqlite3_bind_int64(put_run_, 2, run->job);
    sqlite3_bind_int(put_run_, 3, run->attempt);
    sqlite3_bind_text(put_run_, 4, sched::name(run->state).data(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(put_run_, 5, micros(run->created_at));
    sqlite3_bind_int64(put_run_, 6, micros(run->scheduled_at));
    bind_optional(put_run_, 7, run->started_at);
    bind_optional(put_run_, 8, run->finished_at);
    if (run->exit_code)
      sqlite3_bind_int(put_run_, 9, *run->exit_code);
    else
      sqlite3_bind_null(put_run_, 9);
    sqlite3_bind_int(put_run_, 10, run->signal);
    sqlite3_bind_int64(put_run_, 11, run->pid);
    sqlite3_bind_int64(put_run_, 12, run->pid_start);
    sqlite3_bind_text(put_run_, 13, run->reason.c_str(), -1, SQLITE_TRANSIENT);
    bind_optional(put_run_, 14, run->retry_at);
    sqlite3_bind_int64(put_run_, 15, run->retry_of);
    sqlite3_bind_int64(put_run_, 16, run->next_attempt);
    sqlite3_bind_int64(put_run_, 17, run->missed_count);
    bind_optional(put_run_, 18, run->missed_since);
    sqlite3_bind_int(put_run_, 19, run->cancel_requested ? 1 : 0);
    sqlite3_bind_int64(put_run_, 20, run->parent);
    sqlite3_bind_text(put_run_, 21, run->task.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(put_run_, 22, run->worker.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(put_run_, 23, static_cast<int64_t>(run->epoch));
    const int rc = sqlite3_step(put_run_);
    sqlite3_reset(put_run_);
    if (rc != SQLITE_DONE) return std::optional<Error>(fail("save run"));
  }
  for (int64_t id : removed_runs) {
    sqlite3_bind_int64(del_run_, 1, id);
    if (auto e = step(del_run_, "remove run")) {
      step(rollback_, "rollback");
      return e;
    }
  }
  for (int64_t id : removed_jobs) {
    sqlite3_bind_int64(del_job_, 1, id);
    if (auto e = step(del_job_, "remove job")) {
      step(rollback_, "rollback");
      return e;
    }
  }
  if (auto e = write_audit(audit)) {
    step(rollback_, "rollback");
    return e;
  }
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    Error e = failure("commit");
    sqlite3_reset(commit_);
    step(rollback_, "rollback");
    return std::optional<Error>(e);
  }
  sqlite3_reset(commit_);
  return std::nullopt;
}

}  // namespace job::store
