// The store's security tables: the audit log, appended with each save, and
// the named API tokens, written as they change.
#include <fmt/format.h>
#include <sqlite3.h>

#include "store/columns.hpp"
#include "store/store.hpp"

namespace job::store {

namespace {
// Pruning costs a scan of the index: done once per this many appends.
constexpr int64_t kPruneEvery = 1000;

// A statement prepared for one use, finalized however we leave.
struct Statement {
  sqlite3_stmt* st = nullptr;
  ~Statement() { sqlite3_finalize(st); }
};
}  // namespace

std::optional<Error> Store::write_audit(const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return std::nullopt;
  // Prepared once: every submit is audited, at thousands a second.
  if (!put_audit_ && sqlite3_prepare_v3(db_,
                                        "INSERT INTO audit (at, who, role, peer, op, target, ok, result) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                        -1, SQLITE_PREPARE_PERSISTENT, &put_audit_, nullptr) != SQLITE_OK)
    return failure("audit");
  for (const AuditEntry& a : entries) {
    sqlite3_bind_int64(put_audit_, 1, micros(a.at));
    int i = 2;
    for (const std::string* text : {&a.who, &a.role, &a.peer, &a.op, &a.target})
      sqlite3_bind_text(put_audit_, i++, text->c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(put_audit_, 7, a.ok ? 1 : 0);
    sqlite3_bind_text(put_audit_, 8, a.result.c_str(), -1, SQLITE_TRANSIENT);
    if (auto e = step(put_audit_, "audit")) return e;
  }
  audit_since_prune_ += static_cast<int64_t>(entries.size());
  if (audit_keep_ > 0 && audit_since_prune_ >= kPruneEvery) {
    audit_since_prune_ = 0;
    Statement prune;
    if (sqlite3_prepare_v2(db_, "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?1", -1, &prune.st,
                           nullptr) != SQLITE_OK)
      return failure("audit retention");
    sqlite3_bind_int64(prune.st, 1, audit_keep_);
    if (auto e = step(prune.st, "audit retention")) return e;
  }
  return std::nullopt;
}

Result<std::vector<AuditEntry>> Store::audit(time::Instant since, int64_t limit) {
  Statement q;
  if (sqlite3_prepare_v2(db_,
                         "SELECT * FROM (SELECT id, at, who, role, peer, op, target, ok, result FROM audit "
                         "WHERE at >= ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
                         -1, &q.st, nullptr) != SQLITE_OK)
    return failure("audit");
  sqlite3_bind_int64(q.st, 1, micros(since));
  sqlite3_bind_int64(q.st, 2, limit);
  std::vector<AuditEntry> entries;
  int rc;
  while ((rc = sqlite3_step(q.st)) == SQLITE_ROW) {
    AuditEntry a;
    a.id = sqlite3_column_int64(q.st, 0);
    a.at = instant(sqlite3_column_int64(q.st, 1));
    a.who = column_text(q.st, 2);
    a.role = column_text(q.st, 3);
    a.peer = column_text(q.st, 4);
    a.op = column_text(q.st, 5);
    a.target = column_text(q.st, 6);
    a.ok = sqlite3_column_int(q.st, 7) != 0;
    a.result = column_text(q.st, 8);
    entries.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return failure("audit");
  return entries;
}

Result<std::vector<TokenRecord>> Store::load_tokens() {
  Statement q;
  if (sqlite3_prepare_v2(db_, "SELECT name, hash, role, namespace, created_at, created_by FROM tokens ORDER BY name",
                         -1, &q.st, nullptr) != SQLITE_OK)
    return failure("load tokens");
  std::vector<TokenRecord> tokens;
  int rc;
  while ((rc = sqlite3_step(q.st)) == SQLITE_ROW)
    tokens.push_back({column_text(q.st, 0), column_text(q.st, 1), column_text(q.st, 2), column_text(q.st, 3),
                      instant(sqlite3_column_int64(q.st, 4)), column_text(q.st, 5)});
  if (rc != SQLITE_DONE) return failure("load tokens");
  return tokens;
}

std::optional<Error> Store::put_token(const TokenRecord& t) {
  if (auto e = set_durability(Durability::durable)) return e;
  Statement put;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO tokens (name, hash, role, namespace, created_at, created_by) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         -1, &put.st, nullptr) != SQLITE_OK)
    return failure("save token");
  int i = 1;
  for (const std::string* text : {&t.name, &t.hash, &t.role, &t.ns})
    sqlite3_bind_text(put.st, i++, text->c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(put.st, 5, micros(t.created_at));
  sqlite3_bind_text(put.st, 6, t.created_by.c_str(), -1, SQLITE_TRANSIENT);
  return step(put.st, "save token");
}

std::optional<Error> Store::delete_token(const std::string& name) {
  if (auto e = set_durability(Durability::durable)) return e;
  Statement del;
  if (sqlite3_prepare_v2(db_, "DELETE FROM tokens WHERE name = ?1", -1, &del.st, nullptr) != SQLITE_OK)
    return failure("revoke token");
  sqlite3_bind_text(del.st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  return step(del.st, "revoke token");
}

}  // namespace job::store
