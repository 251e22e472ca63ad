// The TCP listener (--listen, jobd.toml's listen): the same protocol as the
// Unix socket, for jobctl --server and, later, workers. Every TCP client must
// send the cluster token first (auth.hpp); one that does not within
// kAuthDeadline, or sends anything else, is told why and disconnected.
#include "address.hpp"
#include "auth.hpp"
#include "log.hpp"
#include "session.hpp"

namespace jobd {

using job::Errc;
using job::Error;

namespace {
constexpr auto kAuthDeadline = std::chrono::seconds{10};
}  // namespace

std::optional<Error> Server::start_tcp() {
  if (options_.listen.empty()) return std::nullopt;
  auto addr = parse_listen_address(options_.listen);
  if (!addr) return Error{Errc::invalid_argument, "listen: " + addr.error().message};
  uv_tcp_init(loop_, &tcp_listener_);
  tcp_listener_.data = this;
  uv_timer_init(loop_, &auth_timer_);
  auth_timer_.data = this;
  tcp_listening_ = true;  // both handles are to be closed from here on
  int rc = uv_tcp_bind(&tcp_listener_, reinterpret_cast<const sockaddr*>(&*addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_listener_), SOMAXCONN, [](uv_stream_t* l, int status) {
      if (status == 0) handle_owner<Server>(l)->on_connection(true);
    });
  if (rc != 0) {
    stop_tcp();
    return Error{Errc::internal, fmt::format("cannot listen on {}: {}", options_.listen, uv_strerror(rc))};
  }
  sockaddr_storage bound{};
  int size = static_cast<int>(sizeof bound);
  uv_tcp_getsockname(&tcp_listener_, reinterpret_cast<sockaddr*>(&bound), &size);
  listen_address_ = format_address(bound);
  log(Level::info, "jobd: listening on tcp {} (clients authenticate with a named token{})", listen_address_,
      options_.token_file.empty() ? std::string() : ", workers with the token of " + options_.token_file);
  if (!is_loopback(bound))
    log(Level::warning, "jobd: tcp {} is not encrypted: the token and every request cross the network in clear",
        listen_address_);
  uv_timer_start(&auth_timer_, [](uv_timer_t* t) { handle_owner<Server>(t)->drop_unauthenticated(); }, 1000,
                 1000);
  return std::nullopt;
}

void Server::stop_tcp() {
  if (!tcp_listening_) return;
  tcp_listening_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_listener_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&auth_timer_), nullptr);
}

void Server::drop_unauthenticated() {
  const auto deadline = std::chrono::steady_clock::now() - kAuthDeadline;
  std::vector<Session*> late;
  for (auto& [id, s] : sessions_)
    if (!s->authenticated && s->accepted_at < deadline) late.push_back(s);
  for (Session* s : late) {
    log(Level::warning, "jobd: tcp client {} sent no token within {}s: disconnected", s->peer,
        kAuthDeadline.count());
    send(s->id, error_body(nullptr, {Errc::permission_denied, "no token within 10s"}));
    close_session(*s);
  }
}

void Server::authenticate(Session& s, const proto::Json& id, const proto::Json& request) {
  const bool is_auth = request.value("op", std::string()) == "auth";
  const auto token = is_auth && request.contains("token") && request["token"].is_string()
                         ? request["token"].get<std::string>()
                         : std::string();
  // The cluster token makes a worker; a named token, who it names.
  const store::TokenRecord* named = is_auth ? tokens_->find_by_secret(token) : nullptr;
  if (is_auth && !options_.token.empty() && same_secret(token, options_.token)) {
    s.who = {"worker", Role::worker, {}, {}, s.peer};
  } else if (named) {
    s.who = {"token " + named->name, role_from(named->role).value_or(Role::viewer), named->ns, {}, s.peer};
  } else {
    const std::string why =
        is_auth ? "wrong token" : "authenticate first: send {\"op\":\"auth\",\"token\":...}";
    log(Level::warning, "jobd: tcp client {}: {}: disconnected", s.peer, why);
    send(s.id, error_body(id, {Errc::permission_denied, why}));
    return close_session(s);
  }
  s.authenticated = true;
  log(Level::debug, "jobd: tcp client {} authenticated as {}", s.peer, s.who.name);
  proto::Json body = ok_body(id);
  body["authenticated"] = true;
  body["as"] = s.who.name;
  body["role"] = role_name(s.who.role);
  send(s.id, body);
}

}  // namespace jobd
