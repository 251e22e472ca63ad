// What the parts of the Server share about client connections (private to
// daemon/): a Session, and the shapes of replies.
#pragma once

#include "server.hpp"

namespace jobd {

struct Server::Session {
  Server* server;
  uint64_t id;
  uv_pipe_t pipe{};
  proto::LineReader reader;
  size_t queued_bytes = 0;
  bool closing = false;
  bool eof = false;     // the client closed its side: answer what it asked, then close
  int outstanding = 0;  // submits and waits not yet answered
};

proto::Json error_body(const proto::Json& id, const job::Error& e);
proto::Json ok_body(const proto::Json& id);

// The owner of a libuv handle, through its data pointer.
template <class T>
T* handle_owner(const void* handle) {
  return static_cast<T*>(static_cast<const uv_handle_t*>(handle)->data);
}

}  // namespace jobd
