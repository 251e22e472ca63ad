// Notifications (jobd(8), NOTIFICATIONS): a run's end told to a webhook, a
// mail address or a program, on a thread of its own so that a slow or dead
// receiver never stalls the loop. The loop thread submits deliveries; the
// notifier thread carries them out, one attempt at a time, earliest due
// first: a webhook that refuses a connection or answers 5xx is tried again
// after 1 s, 2 s, 4 s... (Options), while the other deliveries go on.
//
// Delivery failures are logged (one line: job, run, channel, why) and
// counted; they never touch the run or its job.
//
// Children: the notifier spawns sendmail and exec notifiers, but the loop's
// SIGCHLD handler reaps every child of jobd; it hands the statuses of the
// notifier's children back through child_exited(). Once the loop has
// stopped, stop() makes the notifier reap its children itself.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "proto/codec.hpp"
#include "sched/model.hpp"

namespace jobd {

struct NotifyOptions {
  int webhook_attempts = 5;                         // jobd.toml's notify_attempts
  std::chrono::milliseconds webhook_backoff{1000};  // notify_backoff: doubled each attempt
  std::chrono::milliseconds connect_timeout{5000};  // webhook
  std::chrono::milliseconds total_timeout{15000};   // webhook, per attempt
  std::chrono::milliseconds exec_timeout{30000};    // mail and exec: killed after this
  std::chrono::milliseconds shutdown_grace{2000};   // pending deliveries at stop()
};

// One notification to send: the document (notify.cpp's event_document) and
// where to. The log tails are read on the notifier thread.
struct Delivery {
  job::sched::NotifySpec::Event event;
  job::sched::NotifySpec target;  // its webhook, mail or exec
  job::proto::Json document;      // without "stdout" and "stderr"
  std::string stdout_path, stderr_path;
};

class NotifyQueue {
 public:
  explicit NotifyQueue(NotifyOptions options);
  ~NotifyQueue();  // stop(), if not called yet
  NotifyQueue(const NotifyQueue&) = delete;
  NotifyQueue& operator=(const NotifyQueue&) = delete;

  void submit(Delivery delivery);  // any thread
  // The loop reaped `pid` (with `status`): true if it was the notifier's.
  bool child_exited(pid_t pid, int status);
  // Gives what is pending the shutdown grace, then drops what is left (logged).
  void stop();
  void set_options(NotifyOptions options);  // on SIGHUP

  struct Counts {
    uint64_t sent, failed, pending;
  };
  Counts counts() const;

 private:
  struct Item {
    Delivery delivery;
    std::string body;  // the JSON document, with its log tails, once read
    int attempt = 0;   // attempts made
    std::chrono::steady_clock::time_point due;
  };
  enum class Outcome { sent, retry, failed };

  void work();
  Outcome attempt(Item& item, std::chrono::steady_clock::time_point deadline, std::string& why);
  Outcome post(const Item& item, std::chrono::steady_clock::time_point deadline, std::string& why);
  Outcome pipe_to(const std::vector<std::string>& argv, const std::string& input,
                  std::chrono::steady_clock::time_point deadline, std::string& why);
  // Its exit status, and whether it had to be killed at `kill_at` (or at the
  // end of the shutdown grace).
  std::pair<int, bool> wait_child(pid_t pid, std::chrono::steady_clock::time_point kill_at);

  mutable std::mutex mu_;
  std::condition_variable wake_;
  NotifyOptions options_;
  std::vector<Item> items_;
  std::map<pid_t, std::optional<int>> children_;  // spawned -> exit status once reaped
  bool stopping_ = false, self_reap_ = false, stopped_ = false;
  std::chrono::steady_clock::time_point stop_deadline_{};
  std::atomic<uint64_t> sent_{0};
  // notify_failures_total: deliveries that failed for good (after their retries).
  std::atomic<uint64_t> failures_total_{0};
  std::atomic<uint64_t> pending_{0};
  // stop_deadline_, for a webhook's transfer in flight to give up at.
  std::atomic<std::chrono::steady_clock::rep> abort_at_{
      std::numeric_limits<std::chrono::steady_clock::rep>::max()};
  std::thread thread_;
};

// The JSON document of a notification: the run, its job, what happened.
job::proto::Json event_document(job::sched::NotifySpec::Event event, const job::sched::Run& run,
                                const job::sched::Job& job, const job::sched::Run* next_attempt,
                                const job::time::Zone& zone);

// The mail `sendmail -t` is given: To, Subject "[jobd] JOB: STATE", the run's
// figures and its log tails (`document` as event_document makes it, with
// "stdout" and "stderr").
std::string mail_message(const std::string& to, const job::proto::Json& document);

}  // namespace jobd
