#include "server.hpp"

namespace jobd {

void Server::rescan_jobs_dir() {
  // filled in by the watched-directory work
}

}  // namespace jobd
