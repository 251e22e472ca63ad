// Waiting for a run's output file to change: inotify where the file system
// tells (local ones do), a timeout everywhere, so a file that does not exist
// yet (the run has not started) or lives on NFS is still followed.
#pragma once

#include <chrono>
#include <string>

namespace jobctl {

class OutputWatch {
 public:
  explicit OutputWatch(std::string path);
  ~OutputWatch();
  OutputWatch(const OutputWatch&) = delete;
  OutputWatch& operator=(const OutputWatch&) = delete;

  enum class Woken {
    grew,     // something was written
    closed,   // a writer closed it: maybe the run ended
    timeout,  // nothing told within the time (or no watch)
  };
  Woken wait(std::chrono::milliseconds timeout);

 private:
  bool arm();  // watches the file once it exists
  std::string path_;
  int fd_ = -1;
  int watch_ = -1;
};

}  // namespace jobctl
