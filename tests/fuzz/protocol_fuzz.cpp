// libFuzzer target: any bytes as what a client sends jobd. The bytes are
// split into lines as jobd splits them (LineReader, fed in pieces of the
// sizes the input's first byte picks), each line parsed as jobd parses it,
// and a "job" member decoded as `submit` decodes it (spec_from_json). None
// may crash or hang; an error must say what is wrong; and a spec that
// decodes must come back the same through spec_to_json: what jobd stores is
// what it read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/codec.hpp"
#include "proto/protocol.hpp"

namespace proto = job::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  proto::LineReader reader(4096);  // small, so that overlong lines are met
  for (size_t at = 0; at < input.size(); at += piece) {
    reader.feed(input.substr(at, piece));
    while (auto line = reader.next()) {
      const auto request = proto::Json::parse(*line, nullptr, false);
      if (request.is_discarded() || !request.is_object() || !request.contains("job")) continue;
      const auto spec = proto::spec_from_json(request["job"]);
      if (!spec) {
        if (spec.error().message.empty()) __builtin_trap();
        continue;
      }
      const proto::Json written = proto::spec_to_json(*spec);
      const auto again = proto::spec_from_json(written);
      if (!again || proto::spec_to_json(*again) != written) __builtin_trap();
    }
    if (reader.overflowed()) break;  // jobd closes the connection here
  }
  return 0;
}
