#include "client.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include "command.hpp"
#include "proto/paths.hpp"
#include "tls.hpp"

namespace jobctl {

using job::Errc;
using job::Error;

job::Result<Client> Client::connect(const std::string& path) {
  auto addr = job::proto::unix_address(path);
  if (!addr) return Error{Errc::invalid_argument, fmt::format("socket path too long: {}", path)};
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{Errc::unavailable, fmt::format("socket: {}", std::strerror(errno))};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof *addr) != 0) {
    const int e = errno;
    close(fd);
    return Error{Errc::unavailable,
                 fmt::format("cannot reach jobd at {}: {}{}", path, std::strerror(e),
                             e == ENOENT || e == ECONNREFUSED ? " (is jobd running?)" : "")};
  }
  Client c(fd, path);
  if (auto e = c.greet()) return *e;
  return c;
}

job::Result<Client> Client::connect_tcp(const std::string& address, const std::string& token,
                                        const TlsFiles& tls) {
  // HOST:PORT, HOST a name or an address, an IPv6 one in brackets.
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    return Error{Errc::invalid_argument,
                 fmt::format("--server {}: expected HOST:PORT, such as jobd.example.com:7465", address)};
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return Error{Errc::unavailable, fmt::format("cannot reach jobd at {}: {}", address, gai_strerror(rc))};
  int fd = -1, error = 0;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0)
    return Error{Errc::unavailable, fmt::format("cannot reach jobd at {}: {}", address, std::strerror(error))};
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // requests are whole lines
  Client c(fd, address);
  if (!tls.ca.empty()) {
    auto ctx = jobd::tls::client_context(tls.ca, tls.cert, tls.key);
    if (!ctx) return ctx.error();
    c.ssl_ = SSL_new(ctx->get());
    if (!c.ssl_) return Error{Errc::internal, "SSL_new: " + jobd::tls::error_text(nullptr, "failed")};
    SSL_set_fd(c.ssl_, fd);
    jobd::tls::expect_host(c.ssl_, host);
    signal(SIGPIPE, SIG_IGN);  // SSL_write has no MSG_NOSIGNAL: a closed connection is an error it returns
    // A peer that never answers the handshake (not a TLS server) fails it in 10 s.
    timeval limit{10, 0}, none{0, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (SSL_connect(c.ssl_) != 1)
      return Error{Errc::unavailable, fmt::format("TLS with jobd at {} failed: {}", address,
                                                  jobd::tls::error_text(c.ssl_, "handshake failed"))};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  }
  if (auto e = c.greet()) {
    // A jobd with TLS waits for our handshake before it says anything.
    if (e->code == Errc::timed_out && tls.ca.empty())
      return Error{Errc::unavailable, fmt::format("jobd at {} sent no greeting within 10 s: if it speaks TLS "
                                                  "(tls_cert), give --tls-ca",
                                                  address)};
    return *e;
  }
  auto reply = c.call({{"op", "auth"}, {"token", token}}, std::chrono::seconds{10});
  if (!reply) {
    if (reply.error().code == Errc::permission_denied)
      return Error{Errc::permission_denied, fmt::format("jobd at {} refused the token: {}", address,
                                                        reply.error().message)};
    return reply.error();
  }
  return c;
}

std::optional<Error> Client::greet() {
  auto hello = read_line(std::chrono::seconds{10});
  if (!hello) return hello.error();
  const auto j = job::proto::Json::parse(*hello, nullptr, false);
  // jobd refusing the connection (too many from us) says why instead.
  if (j.is_object() && j.value("ok", true) == false && j.contains("error") && j["error"].is_object())
    return Error{job::code_from_name(j["error"].value("code", "")), j["error"].value("message", "jobd refused")};
  if (j.is_discarded() || j.value("hello", "") != "jobd")
    return Error{Errc::unavailable, fmt::format("{} is not a jobd socket", path_)};
  if (j.value("protocol", 0) != job::proto::kProtocolVersion)
    return Error{Errc::unavailable, fmt::format("jobd at {} speaks protocol {}, this jobctl {}", path_,
                                                j.value("protocol", 0), job::proto::kProtocolVersion)};
  return std::nullopt;
}

Client::Client(Client&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      ssl_(std::exchange(o.ssl_, nullptr)),
      path_(std::move(o.path_)),
      reader_(std::move(o.reader_)),
      next_id_(o.next_id_) {}

Client::~Client() {
  SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
}

job::Result<size_t> Client::read_some(char* buf, size_t size) {
  while (true) {
    if (!ssl_) {
      const ssize_t n = read(fd_, buf, size);
      if (n < 0 && errno == EINTR) continue;
      return n < 0 ? 0 : static_cast<size_t>(n);
    }
    const int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    if (n > 0) return static_cast<size_t>(n);
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && errno == EINTR)) continue;
    // Refused by jobd (no client certificate, one it does not trust) or broken.
    if (e == SSL_ERROR_SSL)
      return Error{Errc::unavailable,
                   fmt::format("TLS with jobd at {}: {}", path_, jobd::tls::error_text(ssl_, "failed"))};
    return 0;
  }
}

job::Result<std::string> Client::read_line(std::optional<job::time::Duration> timeout,
                                           const std::function<void()>& idle) {
  const auto deadline =
      timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
  while (true) {
    if (auto line = reader_.next()) return *line;
    if (reader_.overflowed()) return Error{Errc::internal, "jobd sent a line over 256 MiB"};
    int wait_ms = -1;
    if (timeout) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Error{Errc::timed_out, "timed out"};
      wait_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
    }
    if (idle && (wait_ms < 0 || wait_ms > 1000)) wait_ms = 1000;
    // What TLS has decrypted already is not on the socket any more.
    if (!ssl_ || SSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      const int rc = poll(&p, 1, wait_ms);
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0 && idle) {
        idle();
        continue;  // the deadline, if any, is checked above
      }
      if (rc == 0) return Error{Errc::timed_out, "timed out"};
    }
    char buf[65536];
    auto n = read_some(buf, sizeof buf);
    if (!n) return n.error();
    if (*n == 0) return Error{Errc::unavailable, fmt::format("jobd at {} closed the connection", path_)};
    reader_.feed(std::string_view(buf, *n));
  }
}

job::Result<int64_t> Client::send_request(job::proto::Json request) {
  const int64_t id = next_id_++;
  request["id"] = id;
  const std::string line = request.dump() + "\n";
  for (size_t sent = 0; sent < line.size();) {
    const ssize_t n = ssl_ ? SSL_write(ssl_, line.data() + sent, static_cast<int>(line.size() - sent))
                           : send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (ssl_ && n == 0))
      return Error{Errc::unavailable, fmt::format("jobd at {}: {}", path_,
                                                  ssl_ ? jobd::tls::error_text(ssl_, "connection closed")
                                                       : std::string(std::strerror(errno)))};
    sent += static_cast<size_t>(n);
  }
  return id;
}

job::Result<job::proto::Json> Client::call(job::proto::Json request,
                                           std::optional<job::time::Duration> timeout,
                                           const std::function<void()>& idle) {
  auto id = send_request(std::move(request));
  if (!id) return id.error();
  return read_reply(*id, timeout, idle);
}

job::Result<job::proto::Json> Client::stream(job::proto::Json request,
                                             const std::function<void(const job::proto::Json&)>& on_event) {
  auto id = send_request(std::move(request));
  if (!id) return id.error();
  while (true) {
    auto reply = read_reply(*id, std::nullopt);
    if (!reply) return reply.error();
    if (reply->contains("event")) {
      on_event((*reply)["event"]);
    } else if (!reply->value("following", false)) {
      return reply;
    }
  }
}

job::Result<job::proto::Json> Client::read_reply(int64_t id, std::optional<job::time::Duration> timeout,
                                                 const std::function<void()>& idle) {
  while (true) {
    auto line_in = read_line(timeout, idle);
    if (!line_in) return line_in.error();
    auto reply = job::proto::Json::parse(*line_in, nullptr, false);
    if (reply.is_discarded()) return Error{Errc::internal, "jobd sent malformed JSON"};
    const bool ours = reply.contains("id") && reply["id"].is_number_integer() && reply["id"].get<int64_t>() == id;
    // An error without an id answers what jobd could not read as a request
    // (a frame too long): with one request in flight, that is ours.
    const bool unreadable = reply.contains("id") && reply["id"].is_null() && !reply.value("ok", true);
    if (!ours && !unreadable) continue;
    if (reply.contains("event")) return reply;  // a streamed line: no "ok" of its own
    if (!reply.value("ok", false)) {
      const auto& e = reply["error"];
      return Error{job::code_from_name(e.value("code", "internal")), e.value("message", "unknown error")};
    }
    return reply;
  }
}

constexpr const char* kSystemSocket = "/run/jobd/jobd.sock";  // root's jobd's default (proto/paths.hpp)

std::string socket_path() {
  if (!globals().socket.empty()) return globals().socket;
  if (const char* env = std::getenv("JOBCTL_SOCKET"); env && *env) return env;
  // A user without a jobd of their own talks to the system's, as crontab
  // talks to cron: like per-user crontabs, their jobs are theirs there.
  std::string own = job::proto::default_socket_path();
  if (geteuid() != 0 && access(own.c_str(), F_OK) != 0 && access(kSystemSocket, F_OK) == 0) return kSystemSocket;
  return own;
}

namespace {

std::string from_env(const std::string& given, const char* name) {
  if (!given.empty()) return given;
  const char* env = std::getenv(name);
  return env ? env : "";
}

// The token in `path`, without trailing whitespace.
job::Result<std::string> read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::invalid_argument, fmt::format("--token-file {}: {}", path, std::strerror(errno))};
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) return Error{Errc::invalid_argument, fmt::format("--token-file {}: empty", path)};
  return token;
}

}  // namespace

bool over_tcp() { return !from_env(globals().server, "JOBCTL_SERVER").empty(); }

job::Result<Client> open_client() {
  const std::string server = from_env(globals().server, "JOBCTL_SERVER");
  if (server.empty()) return Client::connect(socket_path());
  const std::string token_file = from_env(globals().token_file, "JOBCTL_TOKEN_FILE");
  if (token_file.empty())
    return Error{Errc::invalid_argument,
                 fmt::format("--server {} needs --token-file (or $JOBCTL_TOKEN_FILE): jobd's tcp clients "
                             "authenticate with its token",
                             server)};
  auto token = read_token(token_file);
  if (!token) return token.error();
  const TlsFiles tls{from_env(globals().tls_ca, "JOBCTL_TLS_CA"),
                     from_env(globals().tls_cert, "JOBCTL_TLS_CERT"),
                     from_env(globals().tls_key, "JOBCTL_TLS_KEY")};
  if (tls.ca.empty() && !tls.cert.empty())
    return Error{Errc::invalid_argument,
                 "--tls-cert needs --tls-ca (or $JOBCTL_TLS_CA): the CA to verify jobd with"};
  return Client::connect_tcp(server, *token, tls);
}

Client connect() { return must(open_client()); }

}  // namespace jobctl
