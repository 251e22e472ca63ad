// libFuzzer target: any bytes as a jobs.toml file (`jobctl apply`, jobd's
// jobs_dir). Reading must give jobs or an error naming the place, never
// crash or hang; and jobs that are read must survive `jobctl export`:
// written back (write_jobs) and read again, they are the same specs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jobfile/read.hpp"
#include "jobfile/write.hpp"

namespace jobfile = job::jobfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto file = jobfile::read_jobs(text, "fuzz.toml");
  if (!file) {
    if (file.error().message.rfind("fuzz.toml", 0) != 0) __builtin_trap();  // names the file
    return 0;
  }
  std::vector<job::proto::Json> specs;
  for (const auto& j : file->jobs) specs.push_back(j.spec);
  const std::string written = jobfile::write_jobs(specs, jobfile::builtin_defaults());
  const auto again = jobfile::read_jobs(written, "exported.toml");
  if (!again || again->jobs.size() != specs.size()) __builtin_trap();
  for (size_t i = 0; i < specs.size(); ++i)
    if (again->jobs[i].name != file->jobs[i].name) __builtin_trap();
  return 0;
}
