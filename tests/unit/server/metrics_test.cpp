// The pure half of the server's observability: latency buckets and quantiles, number and label
// formatting, the Prometheus exposition and the status page's JSON samples.
#include "server/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace portico::engine::metrics {
namespace {

using counts_t = std::array<std::uint64_t, latency_bucket_count>;

TEST(LatencyBucket, BoundsAreInclusiveLikePrometheusLe) {
  EXPECT_EQ(latency_bucket(0), 0u);
  for (std::size_t i = 0; i < latency_bounds_us.size(); ++i) {
    const std::uint64_t bound_ns = std::uint64_t{latency_bounds_us[i]} * 1000;
    EXPECT_EQ(latency_bucket(bound_ns), i) << "at bound " << latency_bounds_us[i] << " us";
    EXPECT_EQ(latency_bucket(bound_ns + 1), i + 1)
        << "just above " << latency_bounds_us[i] << " us";
    if (i > 0) {
      EXPECT_EQ(latency_bucket(bound_ns - 1), i);
    }
  }
}

TEST(LatencyBucket, AboveTheLastBoundIsTheInfBucket) {
  EXPECT_EQ(latency_bucket(10'000'000'001ull), latency_bucket_count - 1);
  EXPECT_EQ(latency_bucket(std::numeric_limits<std::uint64_t>::max()), latency_bucket_count - 1);
}

TEST(LatencyBucket, BoundsAreStrictlyIncreasing) {
  for (std::size_t i = 1; i < latency_bounds_us.size(); ++i) {
    EXPECT_LT(latency_bounds_us[i - 1], latency_bounds_us[i]);
  }
  static_assert(latency_bucket(50'000) == 0);  // usable at compile time
}

TEST(LatencyQuantile, NoObservationsIsNaN) {
  counts_t c{};
  EXPECT_TRUE(std::isnan(latency_quantile(0.5, c)));
  std::uint64_t wrong[3] = {1, 2, 3};
  EXPECT_TRUE(std::isnan(latency_quantile(0.5, wrong)));
}

TEST(LatencyQuantile, InterpolatesWithinTheBucket) {
  counts_t c{};
  c[0] = 10;  // (0, 100 us]
  EXPECT_DOUBLE_EQ(latency_quantile(0.5, c), 0.00005);
  EXPECT_DOUBLE_EQ(latency_quantile(1.0, c), 0.0001);
  counts_t d{};
  d[2] = 4;  // (250 us, 500 us]
  EXPECT_DOUBLE_EQ(latency_quantile(0.5, d), 0.000375);
}

TEST(LatencyQuantile, AcrossBuckets) {
  counts_t c{};
  c[0] = 50;
  c[3] = 50;  // (500 us, 1 ms]
  EXPECT_DOUBLE_EQ(latency_quantile(0.5, c), 0.0001);
  EXPECT_DOUBLE_EQ(latency_quantile(0.75, c), 0.00075);
  EXPECT_DOUBLE_EQ(latency_quantile(1.0, c), 0.001);
  EXPECT_DOUBLE_EQ(latency_quantile(0.0, c), 0.0);
  // Out-of-range q is clamped.
  EXPECT_DOUBLE_EQ(latency_quantile(2.0, c), 0.001);
}

TEST(LatencyQuantile, InfBucketGivesTheLargestFiniteBound) {
  counts_t c{};
  c[latency_bucket_count - 1] = 3;
  EXPECT_DOUBLE_EQ(latency_quantile(0.5, c), 10.0);
  EXPECT_DOUBLE_EQ(latency_quantile(0.99, c), 10.0);
}

TEST(Format, SecondsFromMicroseconds) {
  EXPECT_EQ(seconds_from_us(0), "0");
  EXPECT_EQ(seconds_from_us(1), "0.000001");
  EXPECT_EQ(seconds_from_us(100), "0.0001");
  EXPECT_EQ(seconds_from_us(250), "0.00025");
  EXPECT_EQ(seconds_from_us(1000000), "1");
  EXPECT_EQ(seconds_from_us(2500000), "2.5");
  EXPECT_EQ(seconds_from_us(10000000), "10");
  EXPECT_EQ(seconds_from_us(12345678), "12.345678");
}

TEST(Format, SecondsFromNanoseconds) {
  EXPECT_EQ(seconds_from_ns(0), "0");
  EXPECT_EQ(seconds_from_ns(1500), "0.0000015");
  EXPECT_EQ(seconds_from_ns(1000000000), "1");
  EXPECT_EQ(seconds_from_ns(1234567891), "1.234567891");
  EXPECT_EQ(seconds_from_ns(18446744073709551615ull), "18446744073.709551615");
}

TEST(Format, EscapeLabel) {
  EXPECT_EQ(escape_label("127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(escape_label("[::1]:80"), "[::1]:80");
  EXPECT_EQ(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

// ---- Prometheus exposition ----------------------------------------------------------------------

struct exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, int> help_count, type_count;
  std::map<std::string, double> samples;  // name{labels} -> value
  std::vector<std::string> order;         // sample keys in order
};

// A sample line of the text format 0.0.4: name{label="value",...} value (labels optional).
bool well_formed_sample(std::string_view line) {
  auto name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  std::size_t i = 0;
  if (i == line.size() || !name_char(line[i], true)) return false;
  while (i < line.size() && name_char(line[i], false))
    ++i;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i == line.size() || !name_char(line[i], true) || line[i] == ':') return false;
      while (i < line.size() && name_char(line[i], false) && line[i] != ':')
        ++i;
      if (line.substr(i, 2) != "=\"") return false;
      i += 2;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 == line.size()) return false;
          char e = line[i + 1];
          if (e != '\\' && e != '"' && e != 'n') return false;
          ++i;
        } else if (line[i] == '\n') {
          return false;
        }
        ++i;
      }
      if (i == line.size()) return false;
      ++i;  // closing quote
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return false;
    }
  }
  if (i == line.size() || line[i] != ' ') return false;
  std::string_view value = line.substr(i + 1);
  if (value == "+Inf" || value == "-Inf" || value == "NaN") return true;
  if (value.empty()) return false;
  for (char c : value) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;
  }
  return true;
}

TEST(Prometheus, TheLineCheckerOfTheseTests) {
  EXPECT_TRUE(well_formed_sample("a_total 1"));
  EXPECT_TRUE(well_formed_sample("a{le=\"+Inf\"} 3"));
  EXPECT_TRUE(well_formed_sample("a{x=\"q\\\"\",y=\"\"} 0.5"));
  EXPECT_FALSE(well_formed_sample("1a 1"));
  EXPECT_FALSE(well_formed_sample("a{x=\"1\" 1"));
  EXPECT_FALSE(well_formed_sample("a{x=1} 1"));
  EXPECT_FALSE(well_formed_sample("a 1 2"));
  EXPECT_FALSE(well_formed_sample("a"));
}

exposition parse(const std::string& text) {
  exposition e;
  std::istringstream in(text);
  std::string line;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      ++e.help_count[name];
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      ++e.type_count[rest.substr(0, sp)];
      e.types[rest.substr(0, sp)] = rest.substr(sp + 1);
      continue;
    }
    EXPECT_TRUE(well_formed_sample(line)) << "not a sample line: " << line;
    auto sp = line.rfind(' ');
    auto key = line.substr(0, sp);
    auto value = line.substr(sp + 1);
    EXPECT_EQ(e.samples.count(key), 0u) << "duplicate sample " << key;
    e.samples[key] = value == "+Inf" ? INFINITY : std::stod(value);
    e.order.push_back(key);
  }
  return e;
}

server_stats sample_stats() {
  server_stats s;
  s.connections_accepted = 12;
  s.connections_refused = 1;
  s.connections_open = 4;
  s.connections_reading = 1;
  s.connections_writing = 1;
  s.connections_idle = 2;
  s.requests = 30;
  s.responses_2xx = 25;
  s.responses_4xx = 4;
  s.bytes_in = 1000;
  s.bytes_out = 50000;
  s.resets_received = 3;
  s.resets_sent = 1;
  s.timeouts_idle = 5;
  s.latency_counts[0] = 20;
  s.latency_counts[4] = 8;
  s.latency_counts[latency_bucket_count - 1] = 1;
  s.latency_sum_ns = 12'500'000'001;
  return s;
}

TEST(Prometheus, EveryFamilyHasOneHelpAndTypeAndWellFormedSamples) {
  listener_figures l{"127.0.0.1:8080", 1, 3, 128, 7};
  kernel_figures k;
  k.tcp_valid = true;
  k.tcp_states[0] = 2;
  k.tcp_states[3] = 5;
  k.netns_listen_overflows = 9;
  k.netns_listen_drops = 11;
  auto e = parse(render_prometheus(sample_stats(), {&l, 1}, &k, 1700000000.5));
  for (const auto& [family, n] : e.type_count) {
    EXPECT_EQ(n, 1) << family;
    EXPECT_EQ(e.help_count[family], 1) << family;
  }
  for (const auto& key : e.order) {
    std::string name = key.substr(0, key.find('{'));
    bool known = e.types.count(name) > 0;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s(suffix);
      if (!known && name.size() > s.size() && name.ends_with(s)) {
        known = e.types.count(name.substr(0, name.size() - s.size())) > 0;
      }
    }
    EXPECT_TRUE(known) << "sample without TYPE: " << key;
  }
}

TEST(Prometheus, CountersAndGauges) {
  auto e = parse(render_prometheus(sample_stats(), {}, nullptr, 0));
  EXPECT_EQ(e.types["portico_connections_accepted_total"], "counter");
  EXPECT_EQ(e.samples["portico_connections_accepted_total"], 12);
  EXPECT_EQ(e.samples["portico_connections_refused_total"], 1);
  EXPECT_EQ(e.samples["portico_connections_open"], 4);
  EXPECT_EQ(e.types["portico_connections"], "gauge");
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"reading\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"writing\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"idle\"}"], 2);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"closing\"}"], 0);
  EXPECT_EQ(e.samples["portico_requests_total"], 30);
  EXPECT_EQ(e.samples["portico_responses_total{class=\"2xx\"}"], 25);
  EXPECT_EQ(e.samples["portico_responses_total{class=\"4xx\"}"], 4);
  EXPECT_EQ(e.samples["portico_responses_total{class=\"5xx\"}"], 0);
  EXPECT_EQ(e.samples["portico_bytes_received_total"], 1000);
  EXPECT_EQ(e.samples["portico_bytes_sent_total"], 50000);
  EXPECT_EQ(e.samples["portico_resets_received_total"], 3);
  EXPECT_EQ(e.samples["portico_resets_sent_total"], 1);
  EXPECT_EQ(e.samples["portico_timeouts_total{phase=\"idle\"}"], 5);
  EXPECT_EQ(e.samples["portico_timeouts_total{phase=\"write\"}"], 0);
}

TEST(Prometheus, HttpsConnectionsAndTlsCounters) {
  server_stats s = sample_stats();
  // Of the 1 reading, 1 writing and 2 idle connections, 1 reading and 1 idle are over TLS.
  s.tls_connections_reading = 1;
  s.tls_connections_idle = 1;
  s.tls_handshakes = 7;
  s.tls_resumed = 3;
  s.tls_handshake_failures = 2;
  s.tls_errors = 1;
  s.timeouts_handshake = 4;
  auto e = parse(render_prometheus(s, {}, nullptr, 0));
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"reading\"}"], 0);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"writing\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"http1\",state=\"idle\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"https\",state=\"reading\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"https\",state=\"writing\"}"], 0);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"https\",state=\"idle\"}"], 1);
  EXPECT_EQ(e.samples["portico_connections{protocol=\"https\",state=\"closing\"}"], 0);
  EXPECT_EQ(e.types["portico_tls_handshakes_total"], "counter");
  EXPECT_EQ(e.samples["portico_tls_handshakes_total{resumed=\"false\"}"], 4);
  EXPECT_EQ(e.samples["portico_tls_handshakes_total{resumed=\"true\"}"], 3);
  EXPECT_EQ(e.samples["portico_tls_handshake_failures_total"], 2);
  EXPECT_EQ(e.samples["portico_tls_errors_total"], 1);
  EXPECT_EQ(e.samples["portico_timeouts_total{phase=\"handshake\"}"], 4);

  status_figures f;
  f.stats = s;
  std::string j = render_status_json(f, nullptr, {});
  EXPECT_NE(j.find("\"handshake\":4}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"tls\":{\"connections\":{\"reading\":1,\"writing\":0,\"idle\":1,"
                   "\"closing\":0},\"handshakes\":7,\"resumed\":3,\"handshake_failures\":2,"
                   "\"errors\":1}"),
            std::string::npos)
      << j;
}

TEST(Prometheus, HistogramIsCumulativeWithCountEqualToInf) {
  auto e = parse(render_prometheus(sample_stats(), {}, nullptr, 0));
  EXPECT_EQ(e.types["portico_request_duration_seconds"], "histogram");
  std::vector<double> buckets;
  for (const auto& key : e.order) {
    if (key.rfind("portico_request_duration_seconds_bucket{", 0) == 0)
      buckets.push_back(e.samples[key]);
  }
  ASSERT_EQ(buckets.size(), latency_bucket_count);
  for (std::size_t i = 1; i < buckets.size(); ++i)
    EXPECT_GE(buckets[i], buckets[i - 1]);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_bucket{le=\"0.0001\"}"], 20);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_bucket{le=\"0.001\"}"], 20);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_bucket{le=\"0.0025\"}"], 28);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_bucket{le=\"10\"}"], 28);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_bucket{le=\"+Inf\"}"], 29);
  EXPECT_EQ(e.samples["portico_request_duration_seconds_count"], 29);
  EXPECT_DOUBLE_EQ(e.samples["portico_request_duration_seconds_sum"], 12.500000001);
}

TEST(Prometheus, ListenerAndKernelSeries) {
  listener_figures ls[] = {{"127.0.0.1:8080", 0, 3, 128, 7}, {"[::1]:8080", 1, 0, 4096, 0}};
  kernel_figures k;
  k.tcp_valid = true;
  k.tcp_states[0] = 2;  // LISTEN
  k.tcp_states[3] = 5;  // ESTABLISHED
  k.tcp_states[9] = 4;  // TIME-WAIT
  k.netns_listen_overflows = 9;
  k.netns_listen_drops = 11;
  auto e = parse(render_prometheus(sample_stats(), ls, &k, 1700000000.5));
  EXPECT_EQ(e.samples["portico_listen_queue_length{listener=\"127.0.0.1:8080\",worker=\"0\"}"], 3);
  EXPECT_EQ(e.samples["portico_listen_queue_limit{listener=\"127.0.0.1:8080\",worker=\"0\"}"], 128);
  EXPECT_EQ(e.samples["portico_listen_drops_total{listener=\"127.0.0.1:8080\",worker=\"0\"}"], 7);
  EXPECT_EQ(e.samples["portico_listen_queue_limit{listener=\"[::1]:8080\",worker=\"1\"}"], 4096);
  EXPECT_EQ(e.types["portico_listen_drops_total"], "counter");
  EXPECT_EQ(e.samples["portico_tcp_sockets{state=\"LISTEN\"}"], 2);
  EXPECT_EQ(e.samples["portico_tcp_sockets{state=\"ESTABLISHED\"}"], 5);
  EXPECT_EQ(e.samples["portico_tcp_sockets{state=\"TIME-WAIT\"}"], 4);
  EXPECT_EQ(e.samples["portico_tcp_sockets{state=\"SYN-RECV\"}"], 0);
  EXPECT_EQ(e.samples["portico_netns_tcp_listen_overflows_total"], 9);
  EXPECT_EQ(e.samples["portico_netns_tcp_listen_drops_total"], 11);
  EXPECT_DOUBLE_EQ(e.samples["portico_start_time_seconds"], 1700000000.5);
}

TEST(Prometheus, KernelSeriesLeftOutWhenUnknown) {
  auto none = parse(render_prometheus(sample_stats(), {}, nullptr, 0));
  EXPECT_EQ(none.types.count("portico_tcp_sockets"), 0u);
  EXPECT_EQ(none.types.count("portico_listen_queue_length"), 0u);
  EXPECT_EQ(none.types.count("portico_netns_tcp_listen_overflows_total"), 0u);
  kernel_figures k;  // the socket table and /proc/net/netstat could not be read
  auto unread = parse(render_prometheus(sample_stats(), {}, &k, 0));
  EXPECT_EQ(unread.types.count("portico_tcp_sockets"), 0u);
  EXPECT_EQ(unread.types.count("portico_netns_tcp_listen_drops_total"), 0u);
}

TEST(Prometheus, LabelValuesAreEscaped) {
  listener_figures l{"we\"ird\\", 0, 0, 0, 0};
  std::string text = render_prometheus(sample_stats(), {&l, 1}, nullptr, 0);
  EXPECT_NE(text.find("listener=\"we\\\"ird\\\\\""), std::string::npos) << text;
  parse(text);  // still well formed
}

// ---- status JSON
// -----------------------------------------------------------------------------------

TEST(StatusJson, FirstSampleHasNoRates) {
  status_figures f;
  f.unix_time = 1700000010.0;
  f.start_time = 1700000000.0;
  f.monotonic = 50;
  f.stats = sample_stats();
  std::string addr[] = {"127.0.0.1:8080"};
  std::string j = render_status_json(f, nullptr, addr);
  EXPECT_EQ(j.front(), '{');
  EXPECT_EQ(j.back(), '}');
  EXPECT_EQ(j.find('\n'), std::string::npos);  // one line: one "data:" line of an event
  EXPECT_NE(j.find("\"schema\":\"portico.status/1\""), std::string::npos);
  EXPECT_NE(j.find("\"uptime\":10.000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"interval\":null"), std::string::npos);
  EXPECT_NE(j.find("\"rates\":null"), std::string::npos);
  EXPECT_NE(j.find("\"listen\":[\"127.0.0.1:8080\"]"), std::string::npos);
  EXPECT_NE(
      j.find("\"connections\":{\"open\":4,\"reading\":1,\"writing\":1,\"idle\":2,\"closing\":0}"),
      std::string::npos)
      << j;
  EXPECT_NE(j.find("\"requests\":30"), std::string::npos);
  EXPECT_NE(j.find("\"responses\":{\"1xx\":0,\"2xx\":25,\"3xx\":0,\"4xx\":4,\"5xx\":0}"),
            std::string::npos);
  EXPECT_NE(j.find("\"interval\":null,\"total\":{\"count\":29"), std::string::npos) << j;
  EXPECT_NE(j.find("\"tcp\":{\"source\":null,\"error\":null,\"states\":null}"), std::string::npos)
      << j;
  EXPECT_NE(j.find("\"netns\":{\"listen_overflows\":null,\"listen_drops\":null}"),
            std::string::npos);
}

TEST(StatusJson, RatesAndLatencyOverTheInterval) {
  status_figures a;
  a.monotonic = 100;
  a.stats.requests = 10;
  a.stats.responses_2xx = 10;
  a.stats.bytes_out = 1000;
  a.stats.latency_counts[0] = 10;
  a.stats.latency_sum_ns = 500'000;
  status_figures b = a;
  b.monotonic = 102;  // two seconds later
  b.stats.requests = 30;
  b.stats.responses_2xx = 28;
  b.stats.responses_5xx = 2;
  b.stats.bytes_out = 5000;
  b.stats.latency_counts[0] = 20;
  b.stats.latency_counts[2] = 10;  // (250, 500] us
  b.stats.latency_sum_ns = 500'000 + 20 * 300'000;
  b.listeners.push_back({"127.0.0.1:8080", 0, 1, 4096, 2});
  b.kernel.tcp_valid = true;
  b.kernel.tcp_source = "netlink";
  b.kernel.tcp_states[0] = 1;
  b.kernel.netns_listen_overflows = 0;
  b.kernel.netns_listen_drops = 3;
  std::string j = render_status_json(b, &a, {});
  EXPECT_NE(j.find("\"interval\":2.000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"requests\":10.000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"bytes_out\":2000.000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"2xx\":9.000"), std::string::npos) << j;
  EXPECT_NE(j.find("\"5xx\":1.000"), std::string::npos) << j;
  // Interval: 10 responses in (0,100] us and 10 in (250,500] us, 6.5 ms in all.
  EXPECT_NE(j.find("\"interval\":{\"count\":20,\"mean_ms\":0.300,\"p50_ms\":0.100"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"counts\":[10,0,10,0,0,0,0,0,0,0,0,0,0,0,0,0,0]"), std::string::npos) << j;
  EXPECT_NE(j.find("\"total\":{\"count\":30"), std::string::npos) << j;
  EXPECT_NE(j.find("{\"address\":\"127.0.0.1:8080\",\"worker\":0,\"queue\":1,\"backlog\":4096,"
                   "\"drops\":2}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"netns\":{\"listen_overflows\":0,\"listen_drops\":3}"), std::string::npos);
  EXPECT_NE(j.find("\"tcp\":{\"source\":\"netlink\",\"error\":null,\"states\":{\"LISTEN\":1,"
                   "\"SYN-SENT\":0"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"TIME-WAIT\":0}}"), std::string::npos) << j;
}

TEST(StatusJson, CountersGoingBackwardsGiveZeroNotHugeRates) {
  status_figures a;
  a.monotonic = 1;
  a.stats.requests = 100;
  status_figures b;
  b.monotonic = 2;
  b.stats.requests = 50;
  std::string j = render_status_json(b, &a, {});
  EXPECT_NE(j.find("\"requests\":0.000"), std::string::npos) << j;
  // And a previous sample at the same instant gives no rates at all.
  std::string k = render_status_json(a, &a, {});
  EXPECT_NE(k.find("\"rates\":null"), std::string::npos) << k;
}

}  // namespace
}  // namespace portico::engine::metrics
