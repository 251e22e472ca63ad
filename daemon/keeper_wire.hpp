// What a worker tells its keeper (keeper.hpp): frames of [u32 size][u8
// kind][payload], in the host's byte order (both ends are one binary on one
// host). The keeper says nothing back. Not JSON: a frame or two go with
// every run's start, and small fixed fields cost next to nothing to read.
//
//   hold     i64 run, the run's JOBD_RUN_ID entry (NUL-ended): about to start
//   started  i64 run, i32 pid: its process group
//   ended    i64 run: reaped (or it never started); not the keeper's any more
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace jobd::keeper_wire {

enum class Kind : uint8_t { hold = 1, started, ended };

struct Message {
  Kind kind{};
  int64_t run = 0;
  std::string marker;  // hold: "JOBD_RUN_ID=r42", as in the run's environment
  pid_t pid = 0;       // started
};

std::string hold(int64_t run, const std::string& marker);
std::string started(int64_t run, pid_t pid);
std::string ended(int64_t run);

// Reassembles frames from a byte stream.
class Reader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame; nullopt when none is, or the stream is bad().
  std::optional<Message> next();
  // A frame that is too large or does not parse: the other end is not ours.
  bool bad() const { return bad_; }

 private:
  std::string buffer_;
  size_t start_ = 0;
  bool bad_ = false;
};

}  // namespace jobd::keeper_wire
