// Jobs back as jobs.toml text (`jobctl export`), which read_jobs() reads
// into the same specs: what is exported can be applied.
#pragma once

#include <string>
#include <vector>

#include "proto/codec.hpp"

namespace job::jobfile {

// `specs`: as proto::spec_to_json writes them. A field equal to its value in
// `defaults` (spec fields: the defaults in force where the file will be
// applied) is left out, so that the text says what is particular to each job.
std::string write_jobs(const std::vector<proto::Json>& specs, const proto::Json& defaults);

// The built-in defaults of every spec field, as spec_to_json writes them.
proto::Json builtin_defaults();

}  // namespace job::jobfile
