// The runs table, printed by `runs` and `show`.
#pragma once

#include "proto/codec.hpp"

namespace jobctl {

void print_runs(const job::proto::Json& runs);

}  // namespace jobctl
