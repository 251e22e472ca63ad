// The event stream (`jobctl events`): every change of a job or run, in order,
// told once it is saved. A bounded backlog serves late subscribers; a
// subscriber that does not read is dropped like any client that does not
// (sessions.cpp), never waited for.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "proto/codec.hpp"

namespace jobd {

class EventLog {
 public:
  explicit EventLog(size_t backlog) : max_(backlog) {}
  // Numbers the event ("seq", from 1) and keeps it in the backlog.
  const job::proto::Json& append(job::proto::Json event);
  // The events of the backlog with a seq above `seq`, oldest first.
  std::vector<const job::proto::Json*> after(uint64_t seq) const;
  uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  std::deque<job::proto::Json> backlog_;
  uint64_t next_seq_ = 1;
  size_t max_;
};

}  // namespace jobd
