// Where jobd keeps its state and listens, by default (jobd(8), FILES). jobd
// and jobctl both ask here, so the two always agree.
#pragma once

#include <sys/un.h>

#include <optional>
#include <string>
#include <string_view>

namespace job::proto {

// As root: /var/lib/jobd. Otherwise: $XDG_STATE_HOME/jobd, else $HOME/.local/state/jobd.
std::string default_state_dir();
// As root: /run/jobd/jobd.sock. Otherwise: $XDG_RUNTIME_DIR/jobd.sock, else
// jobd.sock in the default state directory.
std::string default_socket_path();

// The address of a Unix socket path, or nullopt when the path does not fit
// (sun_path holds at most 107 bytes; libuv would silently truncate it).
std::optional<sockaddr_un> unix_address(std::string_view path);

}  // namespace job::proto
