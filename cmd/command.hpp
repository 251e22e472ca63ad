// What every subcommand file shares: it defines one add_*(CLI::App&) that
// registers its CLI11 subcommand, and its callback reports a failure by
// throwing Failure, which main() turns into one line on stderr and the exit
// status of the error's code.
#pragma once

#include <CLI/CLI.hpp>

#include "error.hpp"

namespace jobctl {

struct Failure {
  job::Error error;
};

// Unwraps a Result or fails the command with its error.
template <class T>
T must(job::Result<T> r) {
  if (!r) throw Failure{r.error()};
  return std::move(r).value();
}

void add_cron(CLI::App& app);

}  // namespace jobctl
