// The worker's own record of its runs, on real SQLite files in a temporary
// directory. The crash case kills a child process with SIGKILL.
#include "worker_store.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace {

using jobd::WorkerRun;
using jobd::WorkerStore;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/jobd-worker-store-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string db() const { return (path / "worker.db").string(); }
};

std::unique_ptr<WorkerStore> open(const std::string& path, int64_t history = WorkerStore::kDefaultHistory) {
  auto store = WorkerStore::open(path, history);
  REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
  return std::move(*store);
}

std::vector<WorkerRun> unfinished(const WorkerStore& store) {
  auto runs = store.unfinished();
  REQUIRE(runs);
  return *runs;
}

std::vector<int64_t> ids(const std::vector<WorkerRun>& runs) {
  std::vector<int64_t> out;
  for (const auto& r : runs) out.push_back(r.run);
  return out;
}

std::vector<int64_t> recent_ids(const WorkerStore& store, size_t limit = 100) {
  auto runs = store.recent(limit);
  REQUIRE(runs);
  return ids(*runs);
}

constexpr int kExited3 = 3 << 8;  // what waitpid() says of exit(3)

}  // namespace

TEST_CASE("what is committed comes back after a reopen, field by field") {
  TempDir dir;
  {
    auto store = open(dir.db());
    store->assigned(7, 42, "nightly", 1'700'000'000'123);
    store->assigned(8, 43, "hourly", 1'700'000'000'456);
    store->ended(7, kExited3);
    store->failed_to_start(8, "no such file: /bin/nope");
    CHECK_FALSE(store->commit());
  }
  auto store = open(dir.db());
  const auto runs = unfinished(*store);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].run == 7);
  CHECK(runs[0].epoch == 42);
  CHECK(runs[0].job == "nightly");
  CHECK(runs[0].assigned_at_ms == 1'700'000'000'123);
  REQUIRE(runs[0].status);
  CHECK(WIFEXITED(*runs[0].status));
  CHECK(WEXITSTATUS(*runs[0].status) == 3);
  CHECK(runs[0].error.empty());
  CHECK(runs[0].state == WorkerRun::State::held);
  CHECK(runs[1].run == 8);
  CHECK_FALSE(runs[1].status);
  CHECK(runs[1].error == "no such file: /bin/nope");
}

TEST_CASE("a worker killed with -9 keeps what it committed, and only that") {
  TempDir dir;
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No REQUIRE here: the child only writes, then dies without a destructor.
    auto store = WorkerStore::open(dir.db());
    if (!store) _exit(1);
    (*store)->assigned(1, 10, "backup", 1000);
    (*store)->ended(1, kExited3);
    if ((*store)->commit()) _exit(1);
    (*store)->assigned(2, 11, "backup", 2000);  // never committed
    raise(SIGKILL);
    _exit(1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  auto store = open(dir.db());
  const auto runs = unfinished(*store);
  REQUIRE(ids(runs) == std::vector<int64_t>{1});
  REQUIRE(runs[0].status);
  CHECK(*runs[0].status == kExited3);
  CHECK(runs[0].epoch == 10);
}

TEST_CASE("what was not committed is rolled back when the store is destroyed") {
  TempDir dir;
  {
    auto store = open(dir.db());
    store->assigned(1, 1, "a", 1000);
    CHECK_FALSE(store->commit());
    store->assigned(2, 2, "b", 2000);
    store->ended(1, 0);
    // Its own connection sees the open batch.
    CHECK(ids(unfinished(*store)) == std::vector<int64_t>{1, 2});
  }
  auto store = open(dir.db());
  const auto runs = unfinished(*store);
  CHECK(ids(runs) == std::vector<int64_t>{1});
  CHECK_FALSE(runs[0].status);
}

TEST_CASE("commit() with nothing written does nothing") {
  TempDir dir;
  auto store = open(dir.db());
  CHECK_FALSE(store->commit());
  CHECK_FALSE(store->commit());
  CHECK(unfinished(*store).empty());
}

TEST_CASE("reported and forgotten runs leave unfinished() and stay as history") {
  TempDir dir;
  auto store = open(dir.db());
  for (int64_t run = 1; run <= 4; ++run) store->assigned(run, static_cast<uint64_t>(run), "j", 1000 * run);
  store->ended(1, 0);
  store->reported(1);
  store->forget(2);  // revoked while it ran
  store->ended(3, kExited3);
  CHECK_FALSE(store->commit());

  store = open(dir.db());
  CHECK(ids(unfinished(*store)) == std::vector<int64_t>{3, 4});
  auto recent = store->recent(10);
  REQUIRE(recent);
  REQUIRE(ids(*recent) == std::vector<int64_t>{4, 3, 2, 1});
  CHECK((*recent)[3].state == WorkerRun::State::reported);
  CHECK((*recent)[3].status == 0);
  CHECK((*recent)[2].state == WorkerRun::State::forgotten);

  SUBCASE("a closed run stays as it was closed") {
    store->reported(2);
    store->forget(1);
    CHECK_FALSE(store->commit());
    recent = store->recent(10);
    REQUIRE(recent);
    CHECK((*recent)[3].state == WorkerRun::State::reported);
    CHECK((*recent)[2].state == WorkerRun::State::forgotten);
  }
  SUBCASE("a run assigned again is held again, with its new lease and no end") {
    store->assigned(1, 99, "j", 9000);
    CHECK_FALSE(store->commit());
    const auto runs = unfinished(*store);
    REQUIRE(ids(runs) == std::vector<int64_t>{3, 4, 1});
    CHECK(runs[2].epoch == 99);
    CHECK_FALSE(runs[2].status);
  }
  SUBCASE("writes about runs it never had change nothing") {
    store->ended(77, 0);
    store->reported(77);
    CHECK_FALSE(store->commit());
    CHECK(recent_ids(*store) == std::vector<int64_t>{4, 3, 2, 1});
  }
}

TEST_CASE("recent() is newest first and stops at its limit") {
  TempDir dir;
  auto store = open(dir.db());
  store->assigned(5, 1, "j", 3000);
  store->assigned(9, 2, "j", 1000);
  store->assigned(6, 3, "j", 2000);
  CHECK_FALSE(store->commit());
  CHECK(recent_ids(*store) == std::vector<int64_t>{5, 6, 9});
  CHECK(recent_ids(*store, 2) == std::vector<int64_t>{5, 6});
  CHECK(recent_ids(*store, 0).empty());
}

TEST_CASE("history is capped: the oldest closed runs go, held ones never") {
  TempDir dir;
  {
    auto store = open(dir.db(), 3);
    store->assigned(1, 1, "held", 1000);  // stays held, older than all
    for (int64_t run = 2; run <= 6; ++run) {
      store->assigned(run, 1, "j", 1000 * run);
      store->ended(run, 0);
      store->reported(run);
      CHECK_FALSE(store->commit());
    }
    CHECK(recent_ids(*store) == std::vector<int64_t>{6, 5, 4, 1});
    CHECK(store->take_pruned() == std::vector<int64_t>{2, 3});  // their logs are the worker's to remove
    CHECK(store->take_pruned().empty());
  }
  // The cap holds across a reopen: closing goes on where it was.
  auto store = open(dir.db(), 3);
  store->assigned(7, 1, "j", 7000);
  store->forget(7);
  CHECK_FALSE(store->commit());
  CHECK(recent_ids(*store) == std::vector<int64_t>{7, 6, 5, 1});
  CHECK(store->take_pruned() == std::vector<int64_t>{4});
  CHECK(ids(unfinished(*store)) == std::vector<int64_t>{1});
}

TEST_CASE("open() fails with a message naming the file") {
  TempDir dir;
  SUBCASE("in a directory that does not exist") {
    const std::string path = (dir.path / "missing" / "worker.db").string();
    auto store = WorkerStore::open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == job::Errc::storage);
    CHECK(store.error().message == "cannot open worker database " + path +
                                       ": unable to open database file (No such file or directory)");
  }
  SUBCASE("under a regular file") {
    std::ofstream(dir.path / "file") << "x";
    const std::string path = (dir.path / "file" / "worker.db").string();
    auto store = WorkerStore::open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().message.find(path) != std::string::npos);
  }
  SUBCASE("that is a directory") {
    const std::string path = dir.path.string();
    auto store = WorkerStore::open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().message.find(path) != std::string::npos);
  }
  SUBCASE("that is not a database") {
    std::ofstream(dir.db()) << std::string(8192, 'g');
    auto store = WorkerStore::open(dir.db());
    REQUIRE_FALSE(store);
    CHECK(store.error().message == "worker database " + dir.db() + ": file is not a database");
  }
  SUBCASE("from a newer jobd") {
    { open(dir.db()); }
    sqlite3* db = nullptr;
    sqlite3_open(dir.db().c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    auto store = WorkerStore::open(dir.db());
    REQUIRE_FALSE(store);
    CHECK(store.error().message ==
          "worker database " + dir.db() + ": schema version 99 is newer than this jobd (1); upgrade jobd");
  }
}

TEST_CASE("a write that fails is returned by commit(), its batch is lost, and the store goes on") {
  TempDir dir;
  auto store = open(dir.db());
  store->assigned(1, 1, "small", 1000);
  CHECK_FALSE(store->commit());
  store->limit_pages_for_test(8);
  const std::string big(4096, 'x');
  for (int64_t run = 2; run <= 100; ++run) store->assigned(run, 1, big, 1000 * run);
  store->ended(1, 0);
  auto e = store->commit();
  REQUIRE(e);
  CHECK(e->code == job::Errc::storage);
  CHECK(e->message.find(dir.db()) != std::string::npos);
  CHECK(e->message.find("full") != std::string::npos);
  const auto runs = unfinished(*store);
  REQUIRE(ids(runs) == std::vector<int64_t>{1});
  CHECK_FALSE(runs[0].status);   // in the lost batch too
  CHECK_FALSE(store->commit());  // reported once

  store->limit_pages_for_test(1'000'000);
  store->ended(1, 0);
  CHECK_FALSE(store->commit());
  store = open(dir.db());
  CHECK(unfinished(*store)[0].status == 0);
}
