// The connection to jobd: a Unix socket speaking the line protocol
// (proto/protocol.hpp). Blocking, one request at a time: jobctl is a
// short-lived command.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "error.hpp"
#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "time/instant.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace jobctl {

// TLS for connect_tcp(): the CA to verify jobd with (empty: no TLS), and our
// certificate and key for a jobd that asks for one (both or neither).
struct TlsFiles {
  std::string ca, cert, key;
};

class Client {
 public:
  // Connects and reads jobd's hello. Errc::unavailable when nobody listens.
  static job::Result<Client> connect(const std::string& socket_path);
  // Connects over TCP to "HOST:PORT", reads the hello and authenticates with
  // `token`: Errc::permission_denied when jobd refuses it. With `tls.ca`,
  // over TLS: a handshake or verification that fails is Errc::unavailable.
  static job::Result<Client> connect_tcp(const std::string& address, const std::string& token,
                                         const TlsFiles& tls = {});
  Client(Client&& o) noexcept;
  Client& operator=(Client&&) = delete;
  ~Client();

  // Sends `request` (an "op" and its fields) and returns the reply's body. An
  // error reply becomes its Error; no reply before `timeout` is Errc::timed_out.
  // `idle`, if given, is called about once a second while the reply is
  // awaited (to show progress).
  job::Result<job::proto::Json> call(job::proto::Json request,
                                     std::optional<job::time::Duration> timeout = std::nullopt,
                                     const std::function<void()>& idle = {});
  // A streaming request (`events`): each {"event": ...} line goes to
  // `on_event` until the final reply, which is returned; when that reply says
  // "following", the events go on until jobd closes the connection.
  job::Result<job::proto::Json> stream(job::proto::Json request,
                                       const std::function<void(const job::proto::Json&)>& on_event);

 private:
  explicit Client(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  std::optional<job::Error> greet();  // reads and checks jobd's hello
  job::Result<std::string> read_line(std::optional<job::time::Duration> timeout,
                                     const std::function<void()>& idle = {});
  job::Result<int64_t> send_request(job::proto::Json request);  // its id
  // The next reply line to request `id` (an error reply as its Error).
  job::Result<job::proto::Json> read_reply(int64_t id, std::optional<job::time::Duration> timeout,
                                           const std::function<void()>& idle = {});

  job::Result<size_t> read_some(char* buf, size_t size);  // 0: jobd closed the connection

  int fd_;
  ssl_st* ssl_ = nullptr;  // over TLS
  std::string path_;
  job::proto::LineReader reader_{job::proto::kMaxReply};
  int64_t next_id_ = 1;
};

// The socket to use: --socket, else $JOBCTL_SOCKET, else jobd's default.
std::string socket_path();
// The jobd to talk to: over TCP with --server (or $JOBCTL_SERVER) and its
// token, else on socket_path().
job::Result<Client> open_client();
// Whether open_client() talks TCP (--server, $JOBCTL_SERVER).
bool over_tcp();
// open_client(), or fail the command.
Client connect();

}  // namespace jobctl
