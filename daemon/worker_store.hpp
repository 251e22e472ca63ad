// A worker's own record of the runs it was assigned: one small SQLite
// database (WAL) in its state directory. It exists for two things:
//  - a run's end that the coordinator has not acknowledged yet survives a
//    crash of the worker (kill -9) and is reported after it registers again,
//    instead of the lease expiring and the run being run a second time;
//  - an operator can see what a worker ran (recent()).
//
// Group commit: the mutators write into one open transaction (begun by the
// first write after a commit); commit() ends it. The worker calls commit()
// once per loop turn and before it sends a report. Nothing written since
// the last commit() survives the object's destruction or a crash.
//
// Errors: open() says what failed and names the file. A later write that
// fails (disk full, I/O error) does not throw: the batch it belongs to is
// rolled back and commit() returns the error. Not thread-safe: the loop
// owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace jobd {

// One run this worker was assigned.
struct WorkerRun {
  enum class State {
    held,       // ours: its end is still to be reported (or it is still running)
    reported,   // the coordinator acknowledged its end; kept as history
    forgotten,  // revoked or killed: not ours to report; kept as history
  };
  int64_t run = 0;             // the coordinator's run id
  uint64_t epoch = 0;          // the lease's fencing epoch
  std::string job;             // the job's name, for people
  int64_t assigned_at_ms = 0;  // wall clock, milliseconds since the Unix epoch
  std::optional<int> status;   // waitpid() status once it ended (WIFEXITED/WIFSIGNALED)
  std::string error;           // non-empty: it could not start, and why (then no status)
  State state = State::held;
};

class WorkerStore {
 public:
  // Keeps at most this many reported or forgotten runs; held ones are never pruned.
  static constexpr int64_t kDefaultHistory = 10'000;

  // Opens (creating if needed) and migrates the database at `path`.
  static job::Result<std::unique_ptr<WorkerStore>> open(const std::string& path,
                                                        int64_t history = kDefaultHistory);
  ~WorkerStore();  // rolls back what was not committed
  WorkerStore(const WorkerStore&) = delete;
  WorkerStore& operator=(const WorkerStore&) = delete;

  // A lease was granted. Assigning a run again (a new epoch) starts it afresh.
  void assigned(int64_t run, uint64_t epoch, const std::string& job, int64_t now_ms);
  // The run ended with this waitpid() status, or could not start.
  void ended(int64_t run, int status);
  void failed_to_start(int64_t run, const std::string& reason);
  // The coordinator acknowledged its end / the run is not ours any more
  // (revoked, fenced). Either closes a held run; a closed one stays as it is.
  void reported(int64_t run);
  void forget(int64_t run);

  // Held runs, oldest assignment first: after a restart, what to report (if
  // it ended) or to claim. Errors are returned, not taken for "none": a run
  // missed here would be run twice.
  job::Result<std::vector<WorkerRun>> unfinished() const;
  // The newest `limit` runs, any state, newest assignment first, for people.
  // Both see the open batch too: it is this connection's own transaction.
  job::Result<std::vector<WorkerRun>> recent(size_t limit) const;

  // Ends the current batch: prunes history beyond its cap and commits. On an
  // error (Errc::storage) the whole batch is lost; the next write starts a
  // new one. Cheap when nothing was written.
  std::optional<job::Error> commit();
  // The runs the commits since the last call pruned from the history: their
  // output files are the caller's to remove.
  std::vector<int64_t> take_pruned() { return std::exchange(pruned_, {}); }

  // Caps the database at `pages` pages, so that tests can fill the "disk".
  void limit_pages_for_test(int64_t pages);

 private:
  WorkerStore(sqlite3* db, std::string path, int64_t history)
      : db_(db), path_(std::move(path)), history_(history) {}
  std::optional<job::Error> migrate();
  std::optional<job::Error> exec(const char* sql);
  job::Error failure(const char* what) const;
  // Runs `statement` (bound by the caller) in the batch; false if the batch failed.
  bool write(sqlite3_stmt* statement, const char* what);
  void close_run(int64_t run, WorkerRun::State state);
  job::Result<std::vector<WorkerRun>> rows(sqlite3_stmt* statement, const char* what) const;

  sqlite3* db_;
  std::string path_;  // for messages
  int64_t history_;
  bool in_batch_ = false;             // a transaction is open
  std::optional<job::Error> failed_;  // the batch's first failure; commit() returns it
  int64_t last_closed_ = 0;           // the newest `closed` sequence number handed out
  bool closed_in_batch_ = false;      // history grew: commit() prunes it
  std::vector<int64_t> pruned_;       // pruned by committed batches, not yet taken
  // Prepared once, at open.
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* assign_ = nullptr;
  sqlite3_stmt* end_ = nullptr;
  sqlite3_stmt* fail_ = nullptr;
  sqlite3_stmt* close_ = nullptr;
  sqlite3_stmt* prune_ = nullptr;
  sqlite3_stmt* unfinished_ = nullptr;
  sqlite3_stmt* recent_ = nullptr;
};

}  // namespace jobd
