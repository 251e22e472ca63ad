// Base64 (RFC 4648, with padding): output bytes inside JSON, which can only
// carry UTF-8 text (logs of remote runs travel this way).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace job::proto {

std::string base64_encode(std::string_view bytes);
// Nullopt for text that is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace job::proto
