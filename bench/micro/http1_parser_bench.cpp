// Request-head parsing throughput (bytes/s) for a typical browser request.
#include <benchmark/benchmark.h>

#include <string_view>

#include "http1/parser.hpp"

namespace {
constexpr std::string_view browser_request =
    "GET /assets/app.js?v=42 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
    "Accept: */*\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\n"
    "Cookie: session=0123456789abcdef; theme=dark\r\n"
    "Connection: keep-alive\r\n\r\n";

void bm_parse_head(benchmark::State& state) {
  portico::http1::limits lim;
  portico::http1::request_parser p(lim);
  portico::http1::request_head head;
  for (auto _ : state) {
    p.reset();
    auto r = p.parse_head(browser_request, head);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * browser_request.size()));
}
BENCHMARK(bm_parse_head);
}  // namespace

BENCHMARK_MAIN();
