// The wire protocol between jobctl and jobd: newline-delimited JSON over a
// stream socket (DESIGN.md, "Wire protocol"), readable with socat.
//
//   server, on connect:  {"hello":"jobd","version":"0.1.0","protocol":1}
//   request:             {"id":7,"op":"submit",...}
//   reply:               {"id":7,"ok":true,...}
//                        {"id":7,"ok":false,"error":{"code":"invalid_cron","message":"..."}}
//
// A frame is one line of at most kMaxFrame bytes. A line that is not a JSON
// object, or an unknown op, gets an error reply; a longer line gets an error
// reply and the connection is closed (the stream cannot be resynchronised).
// Ops and their fields are listed in jobctl(1), section PROTOCOL.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace job::proto {

inline constexpr int kProtocolVersion = 1;
// A request: `jobctl apply` sends all its files' jobs in one, all or nothing
// (about 300 bytes a job: some 200,000 jobs).
inline constexpr size_t kMaxFrame = size_t{64} << 20;  // 64 MiB
// A reply may be far longer (a job run of 10,000 tasks lists each), and the
// client trusts its jobd; this only bounds a runaway line.
inline constexpr size_t kMaxReply = size_t{256} << 20;  // 256 MiB

// Splits a byte stream into lines. Feed it what arrives; take lines while
// there are any. After a line longer than its maximum (kMaxFrame unless
// told), overflowed() is true and the stream is beyond repair.
class LineReader {
 public:
  LineReader() = default;
  explicit LineReader(size_t max_line) : max_(max_line) {}
  void feed(std::string_view bytes);
  std::optional<std::string> next();
  bool overflowed() const { return overflowed_; }

 private:
  std::string buffer_;
  size_t start_ = 0;    // where the next line begins: taken lines are dropped in bulk, not one by one
  size_t scanned_ = 0;  // bytes after start_ known to hold no '\n'
  bool overflowed_ = false;
  size_t max_ = kMaxFrame;
};

}  // namespace job::proto
