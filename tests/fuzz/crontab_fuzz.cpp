// libFuzzer target: any bytes as a crontab (`jobctl import-crontab`), user
// and system format. The importer promises TOML that jobs.toml reading
// accepts, whatever the crontab holds: every line it keeps becomes a job
// `jobctl apply` takes (its zone checked too), and every other line a
// warning or an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jobfile/crontab.hpp"
#include "jobfile/read.hpp"

namespace jobfile = job::jobfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool system_format = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto imported = jobfile::import_crontab(text, "crontab", system_format);
  const auto file = jobfile::read_jobs(imported.toml, "imported.toml");
  if (!file) __builtin_trap();
  return 0;
}
