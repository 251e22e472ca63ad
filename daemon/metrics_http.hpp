// The metrics endpoint (jobd.toml's metrics_listen): a minimal HTTP/1.1
// server on the loop, for Prometheus scrapers. Every connection carries one
// request: its head (at most 8 KiB) must arrive within 10 seconds, and the
// answer ends with Connection: close. GET (or HEAD) /metrics -> 200 with
// render()'s text; another path -> 404; another method -> 405; anything
// malformed or oversized -> 400. A slow or silent client costs one
// connection until its deadline and never blocks the loop; past
// kMaxConnections, new connections are closed at once.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "address.hpp"
#include "error.hpp"

namespace jobd {

class MetricsHttp {
 public:
  static constexpr size_t kMaxHead = 8 * 1024;
  static constexpr uint64_t kTimeoutMs = 10'000;
  static constexpr size_t kMaxConnections = 512;

  using Render = std::function<std::string()>;
  MetricsHttp(uv_loop_t* loop, Render render) : loop_(loop), render_(std::move(render)) {}
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // Starts listening; returns the address bound, as "HOST:PORT".
  job::Result<std::string> listen(std::string_view address);
  // Stops listening and drops every connection (their handles close on
  // the loop's next turn).
  void close();

  // What a request head gets, as a whole response (parsing is apart from the
  // socket so that it can be tested alone).
  static std::string respond(std::string_view head, const Render& render);

 private:
  struct Connection;
  void on_connection();
  void drop(Connection* c);

  uv_loop_t* loop_;
  Render render_;
  uv_tcp_t listener_{};
  bool listening_ = false;
  std::unordered_set<Connection*> connections_;
};

}  // namespace jobd
