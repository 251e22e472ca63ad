#include "metrics_http.hpp"

#include "address.hpp"

#include <arpa/inet.h>

#include <fmt/format.h>


namespace jobd {

using job::Errc;
using job::Error;

namespace {

// After the answer, what the client still sends is read and dropped for at
// most this long: closing with unread input would reset the connection and
// could destroy the answer before the client reads it.
constexpr uint64_t kLingerMs = 2'000;

std::string response(std::string_view status, std::string_view content_type, std::string_view body,
                     bool head_only, std::string_view extra_header = {}) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
                     status, content_type, body.size(), extra_header, head_only ? std::string_view() : body);
}

std::string plain(std::string_view status, std::string_view body, std::string_view extra_header = {}) {
  return response(status, "text/plain; charset=utf-8", body, false, extra_header);
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' ||
          c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~'))
      return false;
  return true;
}

// The end of the head (after its blank line), or npos.
size_t head_end(std::string_view data) {
  const size_t crlf = data.find("\r\n\r\n");
  const size_t lf = data.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) return crlf + 4;
  return lf + 2;
}

}  // namespace

std::string MetricsHttp::respond(std::string_view head, const Render& render) {
  const size_t line_end = head.find('\n');
  std::string_view line = head.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // METHOD SP TARGET SP HTTP/1.x, exactly.
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return plain("400 Bad Request", "bad request\n");
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.front() != '/' ||
      (version != "HTTP/1.1" && version != "HTTP/1.0"))
    return plain("400 Bad Request", "bad request\n");
  // Every header line is NAME: VALUE (no folding, no bare names).
  std::string_view rest = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 1);
  while (!rest.empty()) {
    const size_t next = rest.find('\n');
    std::string_view header = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    if (!header.empty() && header.back() == '\r') header.remove_suffix(1);
    if (header.empty()) break;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || !is_token(header.substr(0, colon)))
      return plain("400 Bad Request", "bad request\n");
  }
  if (method != "GET" && method != "HEAD")
    return plain("405 Method Not Allowed", "only GET and HEAD\n", "Allow: GET, HEAD\r\n");
  target = target.substr(0, target.find('?'));
  if (target != "/metrics") return plain("404 Not Found", "not found: try /metrics\n");
  return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render(), method == "HEAD");
}

struct MetricsHttp::Connection {
  MetricsHttp* owner;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_write_t write{};
  uv_shutdown_t shutdown{};
  std::string head;
  std::string answer;
  bool answered = false;
  bool shut = false;  // the answer went out and our side is closed
  bool eof = false;   // the client closed its side
  bool closing = false;
  int handles = 2;
};

job::Result<std::string> MetricsHttp::listen(std::string_view address) {
  auto addr = parse_listen_address(address);
  if (!addr) return addr.error();
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listening_ = true;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&*addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), SOMAXCONN, [](uv_stream_t* l, int status) {
      if (status == 0) static_cast<MetricsHttp*>(l->data)->on_connection();
    });
  if (rc != 0) {
    close();
    return Error{Errc::internal, fmt::format("cannot listen on {}: {}", address, uv_strerror(rc))};
  }
  sockaddr_storage bound{};
  int size = static_cast<int>(sizeof bound);
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &size);
  return format_address(bound);
}

void MetricsHttp::close() {
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listening_ = false;
  }
  const auto open = std::exchange(connections_, {});
  for (Connection* c : open) drop(c);
}

void MetricsHttp::drop(Connection* c) {
  if (c->closing) return;
  c->closing = true;
  connections_.erase(c);
  const auto closed = [](uv_handle_t* h) {
    auto* conn = static_cast<Connection*>(h->data);
    if (--conn->handles == 0) delete conn;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), closed);
}

void MetricsHttp::on_connection() {
  auto* c = new Connection{};
  c->owner = this;
  uv_tcp_init(loop_, &c->tcp);
  uv_timer_init(loop_, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  connections_.insert(c);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
      connections_.size() > kMaxConnections)
    return drop(c);
  uv_timer_start(
      &c->timer,
      [](uv_timer_t* t) {
        static_cast<Connection*>(t->data)->owner->drop(static_cast<Connection*>(t->data));
      },
      kTimeoutMs, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char buffer[16 * 1024];  // copied out before the next read
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(stream->data);
        MetricsHttp* self = conn->owner;
        if (n < 0) {
          conn->eof = true;
          uv_read_stop(stream);
          // Before an answer: nobody to answer. After: the linger is over.
          if (!conn->answered || conn->shut) self->drop(conn);
          return;
        }
        if (conn->answered || n == 0) return;  // lingering: input is dropped
        const size_t before = conn->head.size();
        conn->head.append(buf->base, std::min(static_cast<size_t>(n), kMaxHead + 1 - before));
        const size_t end = head_end(conn->head);
        std::string answer;
        if (end != std::string::npos)
          answer = respond(std::string_view(conn->head).substr(0, end), self->render_);
        else if (conn->head.size() > kMaxHead)
          answer = plain("400 Bad Request", "request head over 8 KiB\n");
        else
          return;
        conn->answered = true;
        conn->head.clear();
        conn->head.shrink_to_fit();
        conn->answer = std::move(answer);
        uv_timer_start(
            &conn->timer,
            [](uv_timer_t* t) {
              static_cast<Connection*>(t->data)->owner->drop(static_cast<Connection*>(t->data));
            },
            kTimeoutMs, 0);  // for the answer to go out
        uv_buf_t out = uv_buf_init(conn->answer.data(), static_cast<unsigned>(conn->answer.size()));
        conn->write.data = conn;
        const int rc = uv_write(&conn->write, stream, &out, 1, [](uv_write_t* w, int status) {
          auto* done = static_cast<Connection*>(w->data);
          if (done->closing) return;
          if (status < 0) return done->owner->drop(done);
          done->shutdown.data = done;
          const int src = uv_shutdown(&done->shutdown, reinterpret_cast<uv_stream_t*>(&done->tcp),
                                      [](uv_shutdown_t* s, int) {
                                        auto* shut = static_cast<Connection*>(s->data);
                                        if (shut->closing) return;
                                        shut->shut = true;
                                        if (shut->eof) return shut->owner->drop(shut);
                                        uv_timer_start(
                                            &shut->timer,
                                            [](uv_timer_t* t) {
                                              auto* lingering = static_cast<Connection*>(t->data);
                                              lingering->owner->drop(lingering);
                                            },
                                            kLingerMs, 0);
                                      });
          if (src != 0) done->owner->drop(done);
        });
        if (rc != 0) self->drop(conn);
      });
}

}  // namespace jobd
