// The TCP listener (--listen, jobd.toml's listen): the same protocol as the
// Unix socket, for jobctl --server and, later, workers. Every TCP client must
// send the cluster token first (auth.hpp); one that does not within
// kAuthDeadline, or sends anything else, is told why and disconnected.
// With tls_cert, every TCP connection is TLS (tls.hpp), the token still
// first inside it; without, only a loopback address may be listened on,
// unless jobd.toml says insecure_tcp = true.
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
  // With TLS, each connection accepted gets a Tls (sessions.cpp). Without,
  // load_options() has refused an address other than the loopback unless
  // insecure_tcp is set.
  if (!options_.tls_cert.empty()) {
    auto ctx = tls::server_context(options_.tls_cert, options_.tls_key, options_.tls_client_ca);
    if (!ctx) return ctx.error();
    tls_context_ = std::move(*ctx);
  }
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
  log(Level::info, "jobd: listening on tcp {} ({}clients authenticate with a named token{})", listen_address_,
      !tls_context_ ? ""
      : options_.tls_client_ca.empty()
          ? "TLS; "
          : "TLS, client certificates signed by " + options_.tls_client_ca + "; ",
      options_.token_file.empty() ? std::string() : ", workers with the token of " + options_.token_file);
  if (!tls_context_ && !is_loopback(bound)) {
    warnings_.push_back(fmt::format(
        "tcp {} is not encrypted (insecure_tcp): the token and every request cross the network in clear; "
        "set tls_cert and tls_key",
        listen_address_));
    log(Level::warning, "jobd: {}", warnings_.back());
  }
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

bool Server::tls_read(Session& s, std::string_view ciphertext, std::string& plaintext) {
  auto fed = s.tls->feed(ciphertext);
  if (!fed.to_send.empty()) send_bytes(s, std::move(fed.to_send));
  if (!fed.error.empty()) {
    // A client speaking plain text to us ends here too ("wrong version number").
    log(Level::warning, "jobd: tcp client {}: TLS {}: {}: disconnected", s.peer,
        s.tls->established() ? "error" : "handshake failed", fed.error);
    close_session(s);
  }
  plaintext = std::move(fed.plaintext);
  return !s.closing;
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
