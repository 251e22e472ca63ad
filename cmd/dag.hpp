// A job's task graph as text, shared by `dag` and `show`.
#pragma once

#include <string>
#include <vector>

#include "proto/codec.hpp"

namespace jobctl {

// One line per task of the job (its JSON, as `show` gets it), in a
// topological order: "transform  after extract", "report     after load,
// extract (all_done)". A job without tasks is one node: its name.
std::vector<std::string> graph_lines(const job::proto::Json& job);

}  // namespace jobctl
