// Client connections: accepting, reading lines, queueing replies, closing.
#include <sys/socket.h>
#include <unistd.h>

#include "address.hpp"
#include "log.hpp"
#include "session.hpp"

namespace jobd {

using job::Errc;

namespace {

// Past this many unsent bytes a client is too slow to keep: it is dropped
// rather than allowed to grow jobd's memory or stall anyone.
constexpr size_t kMaxQueuedBytes = 16 << 20;

struct WriteRequest {
  uv_write_t req{};
  std::string data;
  Server* server;
  uint64_t session;
};

}  // namespace

proto::Json error_body(const proto::Json& id, const job::Error& e) {
  return {{"id", id}, {"ok", false}, {"error", {{"code", job::code_name(e.code)}, {"message", e.message}}}};
}

proto::Json ok_body(const proto::Json& id) { return {{"id", id}, {"ok", true}}; }

// Who is on the other end of a Unix-socket connection: its uid (SO_PEERCRED),
// which the kernel vouches for. One it cannot tell is a mere viewer.
Identity Server::local_peer(Session& s) const {
  int fd = -1;
  ucred cred{};
  socklen_t size = sizeof cred;
  if (uv_fileno(s.uv_handle(), &fd) == 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0)
    return local_identity(cred.uid, options_.admin_group);
  return {"unknown", Role::viewer, "unknown", {}, "the Unix socket"};
}

void Server::on_connection(bool tcp) {
  auto* s = new Session;
  s->server = this;
  s->id = next_session_++;
  s->accepted_at = s->last_read = std::chrono::steady_clock::now();
  s->reader = proto::LineReader(options_.max_request_bytes);
  if (tcp)
    uv_tcp_init(loop_, &s->handle.tcp);
  else
    uv_pipe_init(loop_, &s->handle.pipe, 0);
  s->uv_handle()->data = s;
  uv_stream_t* server = tcp ? reinterpret_cast<uv_stream_t*>(&tcp_listener_) : reinterpret_cast<uv_stream_t*>(&listener_);
  if (uv_accept(server, s->stream()) != 0) {
    uv_close(s->uv_handle(), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    return;
  }
  if (tcp) {
    s->authenticated = false;
    sockaddr_storage peer{};
    int size = static_cast<int>(sizeof peer);
    if (uv_tcp_getpeername(&s->handle.tcp, reinterpret_cast<sockaddr*>(&peer), &size) == 0)
      s->peer = format_address(peer);
    uv_tcp_nodelay(&s->handle.tcp, 1);  // replies are whole lines: send them at once
    if (tls_context_) s->tls = std::make_unique<tls::Tls>(tls_context_.get(), tls::Tls::Side::server);
  }
  sessions_[s->id] = s;
  if (tcp)
    s->who = {"", Role::viewer, {}, {}, s->peer};  // until its token says who
  else
    s->who = local_peer(*s);
  s->peer_key = tcp ? s->peer.substr(0, s->peer.rfind(':')) : s->who.from;
  const int open = ++connections_by_peer_[s->peer_key];
  if (options_.max_connections_per_peer > 0 && open > options_.max_connections_per_peer) {
    // In place of the hello, so that any client can say why; then closed.
    // Said once in the log until that peer is under its limit again.
    if (over_limit_peers_.insert(s->peer_key).second)
      log(Level::warning, "jobd: {} has {} connections open: refusing more (max_connections_per_peer)",
          s->peer_key, open - 1);
    send(s->id, error_body(nullptr, {Errc::unavailable,
                                     fmt::format("too many connections from {} ({} open; max_connections_per_peer "
                                                 "is {} in jobd.toml)",
                                                 s->peer_key, open - 1, options_.max_connections_per_peer)}));
    return close_session(*s, true);
  }
  send(s->id, {{"hello", "jobd"}, {"version", JOBD_VERSION}, {"protocol", proto::kProtocolVersion}});
  uv_read_start(
      s->stream(),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        // One buffer serves every read: lines are copied out before the next.
        static char buffer[64 * 1024];
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        Session& session = *handle_owner<Session>(stream);
        if (n == UV_EOF) {
          // A client that hung up waits for nothing: drop its waits. Its
          // submits are answered (a half-closed socket still reads them).
          session.eof = true;
          uv_read_stop(stream);
          session.server->drop_waiters(session.id);
          if (session.outstanding == 0) session.server->close_session(session);
          return;
        }
        if (n < 0) return session.server->close_session(session);
        session.server->request_read_at_ = session.last_read = std::chrono::steady_clock::now();
        std::string_view data(buf->base, static_cast<size_t>(n));
        std::string plaintext;
        if (session.tls) {
          if (!session.server->tls_read(session, data, plaintext)) return;
          data = plaintext;
        }
        session.reader.feed(data);
        while (!session.closing) {
          auto line = session.reader.next();
          if (!line) break;
          session.server->on_line(session, *line);
        }
        if (session.reader.overflowed() && !session.closing) {
          session.server->send(
              session.id, error_body(nullptr, {Errc::bad_request,
                                               fmt::format("request over {} bytes (max_request_bytes): closing",
                                                           session.server->options_.max_request_bytes)}));
          session.server->close_session(session);
        }
      });
}

void Server::close_session(Session& s, bool flush) {
  if (s.closing) return;
  s.closing = true;
  sessions_.erase(s.id);
  if (auto c = connections_by_peer_.find(s.peer_key); c != connections_by_peer_.end() && --c->second <= 0) {
    connections_by_peer_.erase(c);
    over_limit_peers_.erase(s.peer_key);
  }
  if (!s.worker.empty())
    if (auto w = worker_sessions_.find(s.worker); w != worker_sessions_.end() && w->second == s.id) {
      log(Level::warning, "jobd: worker {} disconnected", s.worker);
      worker_sessions_.erase(w);
      fail_log_reads(s.id);
    }
  if (!flush) {
    uv_close(s.uv_handle(), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    return;
  }
  // Let queued replies go out first (a shutdown completes after them).
  auto* req = new uv_shutdown_t{};
  const int rc = uv_shutdown(req, s.stream(), [](uv_shutdown_t* r, int) {
    uv_close(reinterpret_cast<uv_handle_t*>(r->handle),
             [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    delete r;
  });
  if (rc != 0) {
    delete req;
    uv_close(s.uv_handle(), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
  }
}

void Server::drop_waiters(uint64_t session) {
  auto gone =
      std::remove_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.session == session; });
  const auto dropped = static_cast<int>(waiters_.end() - gone);
  waiters_.erase(gone, waiters_.end());
  if (auto it = sessions_.find(session); it != sessions_.end()) it->second->outstanding -= dropped;
}

void Server::settle(uint64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (--s.outstanding == 0 && s.eof) close_session(s);
}

void Server::expect(uint64_t session) {
  if (auto it = sessions_.find(session); it != sessions_.end()) ++it->second->outstanding;
}

void Server::send(uint64_t session, const proto::Json& body) {
  if (audit_) audit_reply(session, body);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;  // gone: nobody to tell
  Session& s = *it->second;
  std::string line = body.dump(-1, ' ', false, proto::Json::error_handler_t::replace) + "\n";
  if (s.tls) line = s.tls->write(line);  // nothing yet before the handshake: it goes out after
  if (!line.empty()) send_bytes(s, std::move(line));
}

void Server::send_bytes(Session& s, std::string data) {
  auto* w = new WriteRequest{{}, std::move(data), this, s.id};
  s.queued_bytes += w->data.size();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = w;
  const int rc =
      uv_write(&w->req, s.stream(), &buf, 1, [](uv_write_t* req, int) {
        auto* done = static_cast<WriteRequest*>(req->data);
        auto owner = done->server->sessions_.find(done->session);
        if (owner != done->server->sessions_.end()) owner->second->queued_bytes -= done->data.size();
        delete done;
      });
  if (rc != 0) {
    delete w;
    return close_session(s);
  }
  if (s.queued_bytes > kMaxQueuedBytes) {
    log(Level::warning, "jobd: dropping a client that does not read its replies");
    close_session(s);
  }
}

}  // namespace jobd
