// Listening addresses as jobd.toml writes them ("127.0.0.1:9465",
// "[::1]:7465"): numeric, so that starting jobd never waits on DNS. Shared by
// the metrics endpoint and the TCP listener.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <string_view>

#include "error.hpp"

namespace jobd {

// "HOST:PORT" with a numeric IPv4 host or a bracketed IPv6 one; port 0 lets
// the system pick.
job::Result<sockaddr_storage> parse_listen_address(std::string_view text);

// The other way: "HOST:PORT", IPv6 in brackets.
std::string format_address(const sockaddr_storage& address);

// Whether the address is a loopback one (127.0.0.0/8, ::1).
bool is_loopback(const sockaddr_storage& address);

}  // namespace jobd
