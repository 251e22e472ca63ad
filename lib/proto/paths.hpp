// Where jobd keeps its state and listens, by default (jobd(8), FILES). jobd
// and jobctl both ask here, so the two always agree.
#pragma once

#include <string>

namespace job::proto {

// As root: /var/lib/jobd. Otherwise: $XDG_STATE_HOME/jobd, else $HOME/.local/state/jobd.
std::string default_state_dir();
// As root: /run/jobd/jobd.sock. Otherwise: $XDG_RUNTIME_DIR/jobd.sock, else
// jobd.sock in the default state directory.
std::string default_socket_path();

}  // namespace job::proto
