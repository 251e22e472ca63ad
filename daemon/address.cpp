#include "address.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>

namespace jobd {

using job::Errc;
using job::Error;

job::Result<sockaddr_storage> parse_listen_address(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Error{
        Errc::invalid_argument,
        fmt::format("\"{}\": {} (expected HOST:PORT, such as 127.0.0.1:9465 or [::1]:9465)", text, why)};
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    return bad("the port is not a number from 0 to 65535");
  sockaddr_storage storage{};
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&storage);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, std::string(host.substr(1, host.size() - 2)).c_str(), &a6->sin6_addr) != 1)
      return bad("not an IPv6 address");
    return storage;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&storage);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, std::string(host).c_str(), &a4->sin_addr) != 1)
    return bad("the host is not an IPv4 address or a bracketed IPv6 one");
  return storage;
}

std::string format_address(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(a6->sin6_port));
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&address);
  inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
  return fmt::format("{}:{}", host, ntohs(a4->sin_port));
}

bool is_loopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&address);
    return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
  }
  const auto* a4 = reinterpret_cast<const sockaddr_in*>(&address);
  return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
}

}  // namespace jobd
