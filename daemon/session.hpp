// What the parts of the Server share about client connections (private to
// daemon/): a Session, and the shapes of replies.
#pragma once

#include "identity.hpp"
#include "server.hpp"

namespace jobd {

struct Server::Session {
  Server* server = nullptr;
  uint64_t id = 0;
  // The connection: the Unix socket's, or a TCP one (--listen).
  union Handle {
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } handle{};
  proto::LineReader reader;
  size_t queued_bytes = 0;
  bool closing = false;
  bool eof = false;     // the client closed its side: answer what it asked, then close
  int outstanding = 0;  // submits and waits not yet answered
  // Unix-socket clients are known by their uid; a TCP client only once it
  // has sent a token (auth.hpp, tokens.hpp).
  bool authenticated = true;
  Identity who;
  std::string peer;    // TCP: the client's "HOST:PORT"; empty on the Unix socket
  std::string peer_key;  // whose connections count together: "uid 1000", or a TCP client's host
  std::string worker;  // the worker registered on this connection, if any
  std::unique_ptr<tls::Tls> tls;  // a TCP connection's, when jobd has tls_cert
  std::string worker_instance;  // and the process it is (random at its start)
  std::chrono::steady_clock::time_point accepted_at;
  std::chrono::steady_clock::time_point last_read;  // for idle_timeout

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle); }
  uv_handle_t* uv_handle() { return reinterpret_cast<uv_handle_t*>(&handle); }
};

proto::Json error_body(const proto::Json& id, const job::Error& e);
proto::Json ok_body(const proto::Json& id);

// The owner of a libuv handle, through its data pointer.
template <class T>
T* handle_owner(const void* handle) {
  return static_cast<T*>(static_cast<const uv_handle_t*>(handle)->data);
}

}  // namespace jobd
