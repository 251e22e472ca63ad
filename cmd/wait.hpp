// Waiting for a run to reach a final state, shared by `wait` and `submit --wait`.
#pragma once

#include <optional>

#include "client.hpp"

namespace jobctl {

// Sends the wait request and exits the command: 0 if the run succeeded, 1 if
// it ended otherwise (saying how on stderr), 6 if `timeout` ran out first.
[[noreturn]] void wait_and_exit(Client& client, const job::proto::Json& request,
                                std::optional<job::time::Duration> timeout);

}  // namespace jobctl
