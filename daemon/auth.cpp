#include "auth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace jobd {

using job::Errc;
using job::Error;

job::Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::invalid_argument, fmt::format("token_file {}: {}", path, std::strerror(errno))};
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < kMinTokenBytes)
    return Error{Errc::invalid_argument,
                 fmt::format("token_file {}: the token is {} bytes, at least {} are needed "
                             "(make one with: head -c 32 /dev/urandom | base64 > {})",
                             path, token.size(), kMinTokenBytes, path)};
  if (token.find('\n') != std::string::npos)
    return Error{Errc::invalid_argument, fmt::format("token_file {}: the token is more than one line", path)};
  return token;
}

bool same_secret(std::string_view a, std::string_view b) {
  // volatile: the compiler may not turn the loop into an early exit.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

}  // namespace jobd
