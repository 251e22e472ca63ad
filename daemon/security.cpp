// Who may see and do what (identity.hpp): namespaces, roles, the submit rate
// limit, the audit table, named tokens, and the connection idle timeout.
#include <pwd.h>
#include <unistd.h>

#include <cmath>
#include <set>
#include <vector>

#include "log.hpp"
#include "session.hpp"
#include "time/rfc3339.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

bool Server::visible(const Session& s, const sched::Job& job) const {
  return s.who.admin() || job.spec.ns == s.who.ns;
}

bool Server::visible(const Session& s, const sched::Run& run) const {
  if (s.who.admin()) return true;
  const sched::Job* job = sched_.job(run.job);
  return job && job->spec.ns == s.who.ns;
}

std::string Server::denied(const Session& s, std::string_view op, Role need) const {
  if (need == Role::worker)
    return fmt::format("{} is for workers (the cluster token); you are {} ({})", op, s.who.name,
                       role_name(s.who.role));
  return fmt::format("{} needs the {} role; you are {} ({})", op, role_name(need), s.who.name,
                     role_name(s.who.role));
}

Identity Server::jobs_dir_identity() const {
  Identity who;
  who.name = "jobs_dir";
  who.role = Role::admin;
  who.ns = own_ns_;
  who.user = own_ns_;
  who.from = options_.jobs_dir;
  return who;
}

std::optional<Error> Server::own(const Identity& who, sched::JobSpec& spec) const {
  if (!spec.ns.empty() && spec.ns != who.ns && !who.admin())
    return Error{Errc::permission_denied,
                 fmt::format("namespace \"{}\": only an admin may submit outside its own (\"{}\")", spec.ns,
                             who.ns)};
  if (spec.ns.empty()) spec.ns = who.ns;
  if (!sched::valid_name(spec.ns))
    return Error{Errc::invalid_argument, fmt::format("namespace \"{}\": not a valid name", spec.ns)};
  // The user its runs run as: the caller's own, as with a crontab; only an
  // admin chooses another (root included).
  if (!spec.user.empty() && spec.user != who.user && !who.admin())
    return Error{Errc::permission_denied,
                 fmt::format("user \"{}\": only an admin may choose the user a job runs as{}", spec.user,
                             who.user.empty() ? std::string() : fmt::format(" (yours run as {})", who.user))};
  if (spec.user.empty()) spec.user = default_user(who, spec.ns);
  return std::nullopt;
}

std::string Server::default_user(const Identity& who, const std::string& ns) const {
  if (!who.user.empty()) return who.user;
  if (geteuid() != 0) return {};  // jobd switches no user: its own runs everything
  // A token's jobs: the user its namespace is named after, if there is one;
  // else nobody, never root.
  passwd pw{}, *found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(ns.c_str(), &pw, buffer.data(), buffer.size(), &found) == 0 && found) return ns;
  return "nobody";
}

std::optional<Error> Server::take_submits(const Identity& who, int n) {
  if (options_.submit_rate <= 0) return std::nullopt;
  const double burst = options_.submit_burst > 0 ? options_.submit_burst : std::max(1.0, options_.submit_rate);
  const auto t = std::chrono::steady_clock::now();
  auto [it, fresh] = allowances_.try_emplace(who.name, Allowance{burst, t});
  Allowance& a = it->second;
  a.submits = std::min(burst, a.submits + std::chrono::duration<double>(t - a.at).count() * options_.submit_rate);
  a.at = t;
  if (a.submits >= n) {
    a.submits -= n;
    return std::nullopt;
  }
  const double wait = (n - a.submits) / options_.submit_rate;
  return Error{Errc::rate_limited,
               fmt::format("{} is over its submit rate ({:g}/s, bursts of {:g}; submit_rate in jobd.toml): retry "
                           "in {:.1f}s",
                           who.name, options_.submit_rate, burst, std::max(0.1, wait))};
}

// --- the audit table ---------------------------------------------------------

namespace {
// What an audited request was about: its job, run, token or worker.
std::string audit_target(const std::string& ns, const proto::Json& req) {
  const auto text = [&](const char* key) {
    return req.contains(key) && req[key].is_string() ? req[key].get<std::string>() : std::string();
  };
  if (req.contains("job") && req["job"].is_object()) {
    const auto& j = req["job"];
    const std::string name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : "";
    const std::string in = j.contains("namespace") && j["namespace"].is_string() ? j["namespace"].get<std::string>() : ns;
    return name.empty() ? std::string() : sched::qualified_name(in, name);
  }
  if (auto job = text("job"); !job.empty())
    return job.find('/') == std::string::npos && !sched::parse_ref(job, 'j') ? sched::qualified_name(ns, job) : job;
  if (auto run = text("run"); !run.empty()) return run;
  if (auto name = text("name"); !name.empty()) return name;  // a token, a worker
  if (req.contains("files") && req["files"].is_array()) {
    std::string files;
    for (const auto& f : req["files"])
      if (f.is_object() && f.contains("path") && f["path"].is_string())
        files += (files.empty() ? "" : ", ") + f["path"].get<std::string>();
    return files;
  }
  return {};
}
}  // namespace

void Server::open_audit(const Session& s, const proto::Json& id, const std::string& op, const proto::Json& req) {
  store::AuditEntry e;
  e.at = now();
  e.who = s.who.name;
  e.role = std::string(role_name(s.who.role));
  e.peer = s.who.from;
  e.op = op;
  e.target = audit_target(s.who.ns, req);
  audit_ = OpenAudit{s.id, id, std::move(e)};
}

void Server::audit_reply(uint64_t session, const proto::Json& body) {
  if (!audit_ || audit_->answered || audit_->session != session || !body.contains("id") ||
      body["id"] != audit_->id)
    return;
  audit_->answered = true;
  store::AuditEntry& e = audit_->entry;
  e.ok = body.value("ok", false);
  if (!e.ok && body.contains("error") && body["error"].is_object())
    e.result = fmt::format("{}: {}", body["error"].value("code", std::string()),
                           body["error"].value("message", std::string()));
  else
    e.result = "ok";
  // A submit's job is known by its reply: its id when it has no name.
  if (body.contains("job") && body["job"].is_object() && e.target.empty())
    e.target = body["job"].value("id", std::string());
}

void Server::close_audit() {
  if (!audit_) return;
  if (!audit_->answered) {  // answered after the commit, which saves this entry with its change
    audit_->entry.ok = true;
    audit_->entry.result = "ok";
  }
  store_->append_audit(std::move(audit_->entry));
  audit_.reset();
}

void Server::op_audit(Session& s, const proto::Json& id, const proto::Json& req) {
  job::time::Instant since{};
  if (req.contains("since")) {
    auto t = job::time::parse_rfc3339(req["since"].get<std::string>());
    if (!t) return send(s.id, error_body(id, {Errc::invalid_time, "since: " + t.error().message}));
    since = *t;
  }
  const auto limit = req.value("limit", int64_t{1000});
  if (limit < 1) return send(s.id, error_body(id, {Errc::invalid_argument, "limit: must be at least 1"}));
  commit(store::Durability::lazy);  // this turn's own entries too
  auto entries = store_->audit(since, limit);
  if (!entries) return send(s.id, error_body(id, entries.error()));
  proto::Json list = proto::Json::array();
  for (const auto& e : *entries)
    list.push_back({{"id", e.id},
                    {"at", job::time::format_rfc3339(e.at, zone_)},
                    {"who", e.who},
                    {"role", e.role},
                    {"from", e.peer},
                    {"op", e.op},
                    {"target", e.target},
                    {"ok", e.ok},
                    {"result", e.result}});
  proto::Json body = ok_body(id);
  body["entries"] = std::move(list);
  send(s.id, body);
}

// --- whoami and tokens ---------------------------------------------------------

void Server::op_whoami(Session& s, const proto::Json& id, const proto::Json&) {
  proto::Json body = ok_body(id);
  body["name"] = s.who.name;
  body["role"] = role_name(s.who.role);
  body["namespace"] = s.who.ns;
  body["user"] = s.who.user.empty() ? proto::Json(nullptr) : proto::Json(s.who.user);
  body["from"] = s.who.from;
  send(s.id, body);
}

namespace {
proto::Json token_json(const store::TokenRecord& t, const job::time::Zone& zone) {
  return {{"name", t.name},
          {"role", t.role},
          {"namespace", t.ns},
          {"created_at", job::time::format_rfc3339(t.created_at, zone)},
          {"created_by", t.created_by}};
}
}  // namespace

void Server::op_token_create(Session& s, const proto::Json& id, const proto::Json& req) {
  const std::string name = req.value("name", std::string());
  if (!sched::valid_name(name))
    return send(s.id, error_body(id, {Errc::invalid_argument,
                                      fmt::format("token name \"{}\": use letters, digits, '.', '_' and '-'", name)}));
  const std::string role_text = req.value("role", std::string());
  const auto role = role_from(role_text);
  if (!role || *role == Role::worker)
    return send(s.id, error_body(id, {Errc::invalid_argument,
                                      fmt::format("role \"{}\": expected admin, operator or viewer", role_text)}));
  // An admin token acts in the namespace of jobd's own user unless told;
  // others in one named after the token.
  std::string ns = req.value("namespace", std::string());
  if (ns.empty()) ns = *role == Role::admin ? own_ns_ : name;
  if (!sched::valid_name(ns))
    return send(s.id, error_body(id, {Errc::invalid_argument, fmt::format("namespace \"{}\": not a valid name", ns)}));
  if (tokens_->find(name))
    return send(s.id, error_body(id, {Errc::name_taken, fmt::format("a token named \"{}\" already exists", name)}));
  auto [secret, record] = Tokens::mint(name, role_text, ns, s.who.name, now());
  if (auto e = store_->put_token(record)) return send(s.id, error_body(id, *e));
  log(Level::info, "jobd: token {} ({}, namespace {}) created by {}", name, role_text, ns, s.who.name);
  proto::Json body = ok_body(id);
  body["token"] = token_json(record, zone_);
  body["secret"] = secret;
  tokens_->add(std::move(record));
  send(s.id, body);
}

void Server::op_token_list(Session& s, const proto::Json& id, const proto::Json&) {
  proto::Json list = proto::Json::array();
  for (const auto* t : tokens_->list()) list.push_back(token_json(*t, zone_));
  proto::Json body = ok_body(id);
  body["tokens"] = std::move(list);
  send(s.id, body);
}

void Server::op_token_revoke(Session& s, const proto::Json& id, const proto::Json& req) {
  const std::string name = req.value("name", std::string());
  if (!tokens_->find(name))
    return send(s.id, error_body(id, {Errc::not_found, fmt::format("no token \"{}\"", name)}));
  if (auto e = store_->delete_token(name)) return send(s.id, error_body(id, *e));
  tokens_->remove(name);
  // Connections that authenticated with it lose it now, not at their next connect.
  std::vector<Session*> cut;
  for (auto& [sid, other] : sessions_)
    if (other->who.name == "token " + name) cut.push_back(other);
  for (Session* other : cut) {
    send(other->id, error_body(nullptr, {Errc::permission_denied, fmt::format("token {} was revoked", name)}));
    close_session(*other);
  }
  log(Level::info, "jobd: token {} revoked by {} ({} connections closed)", name, s.who.name, cut.size());
  proto::Json body = ok_body(id);
  body["revoked"] = name;
  body["disconnected"] = cut.size();
  send(s.id, body);
}

// --- idle connections --------------------------------------------------------

void Server::drop_idle() {
  if (options_.idle_timeout <= job::time::Duration::zero()) return;
  const auto deadline =
      std::chrono::steady_clock::now() -
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.idle_timeout);
  std::set<uint64_t> following;
  for (const Subscriber& sub : subscribers_) following.insert(sub.session);
  std::vector<Session*> idle;
  for (auto& [sid, s] : sessions_)
    // A client waiting for a reply or following a stream is not idle; nor a worker.
    if (s->last_read < deadline && s->outstanding == 0 && s->worker.empty() && !following.contains(s->id))
      idle.push_back(s);
  for (Session* s : idle) {
    log(Level::info, "jobd: closing {}'s connection: idle for {}", s->who.name,
        job::time::format_duration(options_.idle_timeout));
    send(s->id, error_body(nullptr, {Errc::unavailable, fmt::format("idle for {}: closing (idle_timeout)",
                                                                    job::time::format_duration(options_.idle_timeout))}));
    close_session(*s);
  }
}

}  // namespace jobd
