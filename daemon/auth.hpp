// TCP clients prove themselves with the cluster token (jobd.toml's
// token_file): the first request on a TCP connection is
// {"op":"auth","token":"..."}. Unix-socket clients are trusted by the
// socket's file permissions. Named tokens and roles come later (issue 9).
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"

namespace jobd {

// The token in `path`: its content without trailing whitespace, at least
// kMinTokenBytes long.
inline constexpr size_t kMinTokenBytes = 16;
job::Result<std::string> read_token_file(const std::string& path);

// a == b in a time that depends on their lengths only, never on where they
// differ: a guesser learns nothing from how fast a wrong token is refused.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace jobd
