// The metrics registry (daemon/metrics.hpp): histograms, label escaping, the
// cardinality cap, the rendered text; and the endpoint's answers to request
// heads (daemon/metrics_http.hpp), without a socket.
#include <doctest/doctest.h>

#include <string>

#include "metrics.hpp"
#include "metrics_http.hpp"

namespace metrics = jobd::metrics;
using job::sched::RunState;

namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("a histogram counts each value in the first bucket whose bound is not below it") {
  static constexpr std::array<double, 3> bounds = {0.1, 1, 10};
  metrics::Histogram h(bounds);
  h.observe(0.05);
  h.observe(0.1);  // le is inclusive
  h.observe(5);
  h.observe(100);
  CHECK(h.counts == std::vector<uint64_t>{2, 0, 1, 1});
  CHECK(h.count == 4);
  CHECK(h.sum == doctest::Approx(105.15));
  metrics::TextWriter w;
  w.histogram("x_seconds", {{"job", "a"}}, h);
  const std::string text = w.take();
  CHECK(contains(text, "x_seconds_bucket{job=\"a\",le=\"0.1\"} 2\n"));
  CHECK(contains(text, "x_seconds_bucket{job=\"a\",le=\"1\"} 2\n"));
  CHECK(contains(text, "x_seconds_bucket{job=\"a\",le=\"10\"} 3\n"));
  CHECK(contains(text, "x_seconds_bucket{job=\"a\",le=\"+Inf\"} 4\n"));
  CHECK(contains(text, "x_seconds_sum{job=\"a\"} 105.15\n"));
  CHECK(contains(text, "x_seconds_count{job=\"a\"} 4\n"));
}

TEST_CASE("label values escape backslash, double quote and newline, and nothing else") {
  CHECK(metrics::escape_label_value("plain-job.1") == "plain-job.1");
  CHECK(metrics::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(metrics::escape_label_value("tab\there") == "tab\there");
  metrics::TextWriter w;
  w.sample("m", {{"k", "x\"y"}}, 1);
  w.sample("n", {}, 2.5);
  CHECK(w.take() == "m{k=\"x\\\"y\"} 1\nn 2.5\n");
}

TEST_CASE("values: integers without a fraction, infinities and NaN as Prometheus spells them") {
  CHECK(metrics::format_value(3) == "3");
  CHECK(metrics::format_value(0.25) == "0.25");
  CHECK(metrics::format_value(1.0 / 0.0) == "+Inf");
  CHECK(metrics::format_value(-1.0 / 0.0) == "-Inf");
  CHECK(metrics::format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("the first max_jobs job names get series; later ones share _other") {
  metrics::Registry r(2);
  const size_t a = r.series(1, "a");
  const size_t b = r.series(2, "b");
  CHECK(a != b);
  CHECK(r.series(1, "a") == a);
  CHECK(r.series(3, "a") == a);  // a new job of an old name: its series
  const size_t c = r.series(4, "c");
  const size_t d = r.series(5, "d");
  CHECK(c == d);
  CHECK(c != a);
  CHECK(c != b);
  r.run_finished(a, RunState::succeeded, 0.5);
  r.run_finished(c, RunState::failed, 2.0);
  r.run_finished(d, RunState::succeeded, std::nullopt);
  r.retried(c);
  const std::string text = r.render({});
  CHECK(contains(text, "jobd_runs_total{job=\"a\",state=\"succeeded\"} 1\n"));
  CHECK(contains(text, "jobd_runs_total{job=\"b\",state=\"succeeded\"} 0\n"));
  CHECK(contains(text, "jobd_runs_total{job=\"_other\",state=\"failed\"} 1\n"));
  CHECK(contains(text, "jobd_runs_total{job=\"_other\",state=\"succeeded\"} 1\n"));
  CHECK_FALSE(contains(text, "job=\"c\""));
  CHECK(contains(text, "jobd_run_duration_seconds_count{job=\"_other\"} 1\n"));
  CHECK(contains(text, "jobd_retries_total{job=\"_other\"} 1\n"));
  CHECK(r.runs(RunState::succeeded) == 2);
  CHECK(r.retries() == 1);
  r.set_max_jobs(3);
  CHECK(r.series(6, "e") != c);  // room again for one more name
}

TEST_CASE("a job literally named _other shares the aggregate") {
  metrics::Registry r(10);
  CHECK(r.series(1, "_other") == r.series(2, "_other"));
  r.series(3, "x");
  CHECK(r.series(1, "_other") != r.series(3, "x"));
}

TEST_CASE("the page: every family has HELP and TYPE, gauges as given") {
  metrics::Registry r(5);
  r.submitted(0.002);
  r.committed(0.001);
  r.run_started(0.0003);
  metrics::Gauges g;
  g.slots_busy = 1;
  g.slots_total = 4;
  g.connections = 3;
  g.queue_by_priority = {{-1, 2}, {5, 1}};
  g.jobs_by_state = {7, 1, 0, 2};
  g.resident_bytes = 4096;
  const std::string text = r.render(g);
  for (const char* family :
       {"jobd_runs_total counter", "jobd_run_duration_seconds histogram", "jobd_queue_depth gauge",
        "jobd_slots_busy gauge", "jobd_slots_total gauge", "jobd_schedule_lag_seconds histogram",
        "jobd_retries_total counter", "jobd_submits_total counter", "jobd_submit_latency_seconds histogram",
        "jobd_commit_duration_seconds histogram", "jobd_connections gauge",
        "jobd_process_resident_memory_bytes gauge", "jobd_jobs gauge"}) {
    CAPTURE(family);
    CHECK(contains(text, std::string("# TYPE ") + family + "\n"));
  }
  CHECK(contains(text, "jobd_submits_total 1\n"));
  CHECK(contains(text, "jobd_submit_latency_seconds_count 1\n"));
  CHECK(contains(text, "jobd_commit_duration_seconds_bucket{le=\"0.001\"} 1\n"));
  CHECK(contains(text, "jobd_schedule_lag_seconds_bucket{le=\"0.0005\"} 1\n"));
  CHECK(contains(text, "jobd_queue_depth{priority=\"-1\"} 2\n"));
  CHECK(contains(text, "jobd_queue_depth{priority=\"5\"} 1\n"));
  CHECK(contains(text, "jobd_queue_depth{priority=\"0\"} 0\n"));
  CHECK(contains(text, "jobd_slots_busy 1\n"));
  CHECK(contains(text, "jobd_slots_total 4\n"));
  CHECK(contains(text, "jobd_connections 3\n"));
  CHECK(contains(text, "jobd_jobs{state=\"active\"} 7\n"));
  CHECK(contains(text, "jobd_jobs{state=\"deleted\"} 2\n"));
  CHECK(contains(text, "jobd_process_resident_memory_bytes 4096\n"));
  CHECK(text.back() == '\n');
}

TEST_CASE("resident memory is read from /proc/self/statm") { CHECK(metrics::resident_memory_bytes() > 0); }

TEST_CASE("request heads: 200, 404, 405, 400") {
  const jobd::MetricsHttp::Render page = [] { return std::string("m 1\n"); };
  const auto status = [&](std::string_view head) {
    const std::string r = jobd::MetricsHttp::respond(head, page);
    return r.substr(0, r.find("\r\n"));
  };
  const std::string ok = jobd::MetricsHttp::respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", page);
  CHECK(ok.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(contains(ok, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  CHECK(contains(ok, "Content-Length: 4\r\n"));
  CHECK(contains(ok, "Connection: close\r\n"));
  CHECK(ok.ends_with("\r\n\r\nm 1\n"));
  const std::string head = jobd::MetricsHttp::respond("HEAD /metrics HTTP/1.0\r\n\r\n", page);
  CHECK(head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"));
  CHECK(status("GET /metrics?x=1 HTTP/1.1\n\n") == "HTTP/1.1 200 OK");
  CHECK(status("GET / HTTP/1.1\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status("GET /metricsx HTTP/1.1\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == "HTTP/1.1 405 Method Not Allowed");
  CHECK(
      contains(jobd::MetricsHttp::respond("DELETE /metrics HTTP/1.1\r\n\r\n", page), "Allow: GET, HEAD\r\n"));
  for (const char* bad :
       {"GARBAGE\r\n\r\n", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
        "GET /metrics HTTP/2\r\n\r\n", "GET metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1 x\r\n\r\n",
        "G(T /metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
        "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", "\r\n\r\n"}) {
    CAPTURE(bad);
    CHECK(status(bad) == "HTTP/1.1 400 Bad Request");
  }
}

TEST_CASE("listen addresses: numeric IPv4 or bracketed IPv6, and a port") {
  CHECK(jobd::parse_listen_address("127.0.0.1:9465"));
  CHECK(jobd::parse_listen_address("0.0.0.0:0"));
  CHECK(jobd::parse_listen_address("[::1]:9465"));
  for (const char* bad :
       {"127.0.0.1", "localhost:9465", "127.0.0.1:65536", "127.0.0.1:x", "::1:9465", ":9465", "127.0.0.1:"}) {
    CAPTURE(bad);
    CHECK_FALSE(jobd::parse_listen_address(bad));
  }
}
