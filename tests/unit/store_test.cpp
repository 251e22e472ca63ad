// The SQLite store, on a real database in a temporary directory.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.hpp"
#include "time/rfc3339.hpp"

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/jobd-store-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string db() const { return (path / "jobd.db").string(); }
};

job::sched::Job sample_job(int64_t id) {
  job::sched::Job j;
  j.id = id;
  j.spec.name = "job" + std::to_string(id);
  j.spec.trigger = job::sched::JobSpec::Trigger::every;
  j.spec.every = std::chrono::seconds{90};
  j.spec.argv = {"echo", "hi"};
  j.created_at = *job::time::parse_rfc3339("2026-01-01T00:00:00.123456Z");
  j.next_fire = j.created_at + std::chrono::seconds{90};
  return j;
}

job::sched::Run sample_run(int64_t id, int64_t job) {
  job::sched::Run r;
  r.id = id;
  r.job = job;
  r.state = job::sched::RunState::failed;
  r.created_at = r.scheduled_at = *job::time::parse_rfc3339("2026-01-01T00:01:30Z");
  r.started_at = r.created_at;
  r.finished_at = r.created_at + std::chrono::milliseconds{1500};
  r.exit_code = 3;
  r.pid = 1234;
  r.pid_start = 5678;
  r.reason = "because";
  r.worker = "w7";
  r.epoch = 42;
  return r;
}

}  // namespace

TEST_CASE("a new database gets the whole schema; what is saved loads back") {
  TempDir dir;
  {
    auto store = job::store::Store::open(dir.db());
    REQUIRE(store);
    CHECK((*store)->schema_version() == 6);
    auto job = sample_job(1);
    job.source = "/etc/jobd/jobs.d/nightly.toml";
    const auto run = sample_run(1, 1);
    CHECK_FALSE((*store)->save({&job}, {&run}));
    auto updated = run;
    updated.state = job::sched::RunState::succeeded;
    updated.exit_code = 0;
    CHECK_FALSE((*store)->save({}, {&updated}));
  }
  auto store = job::store::Store::open(dir.db());
  REQUIRE(store);
  auto snap = (*store)->load();
  REQUIRE(snap);
  REQUIRE(snap->jobs.size() == 1);
  REQUIRE(snap->runs.size() == 1);
  const auto& j = snap->jobs[0];
  CHECK(j.spec == sample_job(1).spec);
  CHECK(j.created_at == sample_job(1).created_at);
  CHECK(j.next_fire == sample_job(1).next_fire);
  CHECK(j.source == "/etc/jobd/jobs.d/nightly.toml");
  const auto& r = snap->runs[0];
  CHECK(r.state == job::sched::RunState::succeeded);
  CHECK(r.exit_code == 0);
  CHECK(r.finished_at == sample_run(1, 1).finished_at);
  CHECK(r.pid_start == 5678);
  CHECK(r.reason == "because");
  CHECK(r.worker == "w7");
  CHECK(r.epoch == 42);
}

TEST_CASE("a full disk fails the whole transaction and says so") {
  TempDir dir;
  auto store = job::store::Store::open(dir.db());
  REQUIRE(store);
  (*store)->limit_pages_for_test(8);
  std::vector<job::sched::Job> jobs;
  for (int i = 1; i <= 2000; ++i) jobs.push_back(sample_job(i));
  std::vector<const job::sched::Job*> ptrs;
  for (auto& j : jobs) ptrs.push_back(&j);
  auto e = (*store)->save(ptrs, {});
  REQUIRE(e);
  CHECK(e->code == job::Errc::storage);
  CHECK(e->message.find("full") != std::string::npos);
  auto snap = (*store)->load();
  REQUIRE(snap);
  CHECK(snap->jobs.empty());  // all or nothing
}

TEST_CASE("a database from a newer jobd is refused") {
  TempDir dir;
  { REQUIRE(job::store::Store::open(dir.db())); }
  sqlite3* db = nullptr;
  sqlite3_open(dir.db().c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto store = job::store::Store::open(dir.db());
  REQUIRE_FALSE(store);
  CHECK(store.error().message == "database schema version 99 is newer than this jobd (6); upgrade jobd");
}

TEST_CASE("lazy and durable saves interleave, and a crash keeps both") {
  TempDir dir;
  // The child saves and dies without closing anything, as kill -9 would.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto store = job::store::Store::open(dir.db());
    if (!store) _exit(10);
    const auto job = sample_job(1);
    auto run = sample_run(1, 1);
    run.state = job::sched::RunState::running;
    if ((*store)->save({&job}, {&run}, job::store::Durability::durable)) _exit(11);
    run.state = job::sched::RunState::succeeded;
    if ((*store)->save({}, {&run}, job::store::Durability::lazy)) _exit(12);
    const auto second = sample_job(2);
    if ((*store)->save({&second}, {}, job::store::Durability::durable)) _exit(13);
    const auto third = sample_job(3);
    if ((*store)->save({&third}, {}, job::store::Durability::lazy)) _exit(14);
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto store = job::store::Store::open(dir.db());
  REQUIRE(store);
  auto snap = (*store)->load();
  REQUIRE(snap);
  CHECK(snap->jobs.size() == 3);
  REQUIRE(snap->runs.size() == 1);
  CHECK(snap->runs[0].state == job::sched::RunState::succeeded);
}

TEST_CASE("a second opener of a database in use is refused") {
  TempDir dir;
  auto first = job::store::Store::open(dir.db());
  REQUIRE(first);
  auto second = job::store::Store::open(dir.db());
  REQUIRE_FALSE(second);
  CHECK(second.error().code == job::Errc::storage);
  CHECK(second.error().message.find("locked") != std::string::npos);
}

TEST_CASE("audit entries are saved with the next save, pruned to audit_keep, and read back by time") {
  TempDir dir;
  auto store = job::store::Store::open(dir.db());
  REQUIRE(store);
  auto& s = **store;
  const auto t0 = *job::time::parse_rfc3339("2026-05-01T00:00:00Z");
  job::store::AuditEntry e{0, t0, "alice", "operator", "uid 1000", "submit", "alice/backup", true, "ok"};
  s.append_audit(e);
  CHECK(s.audit(t0, 10)->empty());  // not before a save
  REQUIRE_FALSE(s.save({}, {}));    // a save with nothing else still writes it
  auto entries = s.audit(t0, 10);
  REQUIRE(entries);
  REQUIRE(entries->size() == 1);
  const auto& a = entries->front();
  CHECK((a.who == "alice" && a.role == "operator" && a.peer == "uid 1000" && a.op == "submit" &&
         a.target == "alice/backup" && a.ok && a.result == "ok" && a.at == t0));
  // Keep 10: past a thousand appends, the oldest go, the newest stay in order.
  s.set_audit_keep(10);
  for (int i = 1; i <= 1000; ++i) {
    e.at = t0 + std::chrono::seconds{i};
    e.target = "j" + std::to_string(i);
    s.append_audit(e);
    if (i % 100 == 0) REQUIRE_FALSE(s.save({}, {}));
  }
  entries = s.audit(t0, 100000);
  REQUIRE(entries->size() == 10);
  CHECK(entries->front().target == "j991");
  CHECK(entries->back().target == "j1000");
  // since and limit: the newest of those at or after since, oldest first.
  entries = s.audit(t0 + std::chrono::seconds{995}, 3);
  REQUIRE(entries->size() == 3);
  CHECK(entries->front().target == "j998");
  CHECK(entries->back().target == "j1000");
}

TEST_CASE("tokens are stored by hash, load back, and are deleted") {
  TempDir dir;
  const auto t0 = *job::time::parse_rfc3339("2026-05-01T00:00:00Z");
  {
    auto store = job::store::Store::open(dir.db());
    REQUIRE(store);
    REQUIRE_FALSE((*store)->put_token({"ci", "ab12", "operator", "team", t0, "root"}));
    REQUIRE_FALSE((*store)->put_token({"dash", "cd34", "viewer", "team", t0, "root"}));
    auto again = (*store)->put_token({"ci", "ef56", "viewer", "x", t0, "root"});
    REQUIRE(again);
    CHECK(again->code == job::Errc::storage);  // a name is a primary key
  }
  auto store = job::store::Store::open(dir.db());
  REQUIRE(store);
  auto tokens = (*store)->load_tokens();
  REQUIRE(tokens);
  REQUIRE(tokens->size() == 2);
  CHECK((tokens->at(0).name == "ci" && tokens->at(0).hash == "ab12" && tokens->at(0).role == "operator" &&
         tokens->at(0).ns == "team" && tokens->at(0).created_at == t0 && tokens->at(0).created_by == "root"));
  REQUIRE_FALSE((*store)->delete_token("ci"));
  tokens = (*store)->load_tokens();
  REQUIRE(tokens->size() == 1);
  CHECK(tokens->at(0).name == "dash");
}
