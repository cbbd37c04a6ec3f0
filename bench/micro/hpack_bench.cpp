// HPACK encode and decode of a typical browser request header block (the request of
// http1_parser_bench.cpp, in HTTP/2 form): the first block of a connection (literals, Huffman,
// table insertions) and a repeated block (mostly one-octet indexes), plus raw Huffman speed.
// When the build finds libnghttp2, the same four block benchmarks run against nghttp2's HPACK
// (nghttp2_hd_*) as the peer to compare with, on the same blocks, in the same run.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"
#include "hpack/huffman.hpp"

namespace {

using namespace portico::hpack;

const std::vector<header_field> request = {
    {":method", "GET"},
    {":scheme", "https"},
    {":authority", "www.example.com"},
    {":path", "/assets/app.js?v=42"},
    {"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"},
    {"accept", "*/*"},
    {"accept-language", "en-US,en;q=0.9"},
    {"accept-encoding", "gzip, deflate, br"},
    {"referer", "https://www.example.com/"},
    {"cookie", "session=0123456789abcdef; theme=dark"},
};

std::size_t plain_size() {
  std::size_t n = 0;
  for (const auto& f : request)
    n += f.name.size() + f.value.size();
  return n;
}

// The first block on a fresh connection: every field a literal (most Huffman-coded), seven
// table insertions. A new encoder each time (its table memory is allocated on first use).
void bm_encode_first_block(benchmark::State& state) {
  std::vector<std::byte> out;
  out.reserve(512);
  for (auto _ : state) {
    encoder e;
    out.clear();
    e.encode(request, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["block_bytes"] = static_cast<double>(out.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_encode_first_block);

// The same request again on a warm connection: one-octet indexes except :path.
void bm_encode_repeat_block(benchmark::State& state) {
  encoder e;
  std::vector<std::byte> out;
  e.encode(request, out);
  for (auto _ : state) {
    out.clear();
    e.encode(request, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["block_bytes"] = static_cast<double>(out.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_encode_repeat_block);

struct counting_sink {
  std::size_t fields = 0;
  std::size_t bytes = 0;
  void operator()(const header_field& f) {
    ++fields;
    bytes += f.name.size() + f.value.size();
  }
};

void bm_decode_first_block(benchmark::State& state) {
  const std::vector<std::byte> block = encoder().encode(request);
  for (auto _ : state) {
    decoder d;
    counting_sink sink;
    auto ec = d.decode(block, sink);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.counters["block_bytes"] = static_cast<double>(block.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_decode_first_block);

// Decoding the repeated block changes no table entry (:path is not indexed), so one warm
// decoder can decode it over and over.
void bm_decode_repeat_block(benchmark::State& state) {
  encoder e;
  decoder d;
  counting_sink warm;
  (void)d.decode(e.encode(request), warm);
  const std::vector<std::byte> block = e.encode(request);
  for (auto _ : state) {
    counting_sink sink;
    auto ec = d.decode(block, sink);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.counters["block_bytes"] = static_cast<double>(block.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_decode_repeat_block);

const std::string text =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 session=0123456789abcdef; theme=dark; https://www.example.com/assets/app.js";

void bm_huffman_encode(benchmark::State& state) {
  std::vector<std::byte> out(huffman_encoded_size(text));
  for (auto _ : state) {
    benchmark::DoNotOptimize(huffman_encode(text, out.data()));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(bm_huffman_encode);

// Bytes/s of decoded output.
void bm_huffman_decode(benchmark::State& state) {
  std::vector<std::byte> enc(huffman_encoded_size(text));
  huffman_encode(text, enc.data());
  // One octet over the bound, as the decoder gives it: the unchecked fast path.
  std::string out(huffman_decoded_size_bound(enc.size()) + 1, '\0');
  for (auto _ : state) {
    auto r = huffman_decode(enc, out);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(bm_huffman_decode);

}  // namespace

#ifdef PORTICO_BENCH_NGHTTP2
// nghttp2's public HPACK API (nghttp2/nghttp2.h, stable since 1.0; declared here because only
// the shared library is installed, not its headers).
#include <sys/types.h>
extern "C" {
struct nghttp2_hd_deflater;
struct nghttp2_hd_inflater;
struct nghttp2_nv {
  std::uint8_t* name;
  std::uint8_t* value;
  std::size_t namelen;
  std::size_t valuelen;
  std::uint8_t flags;
};
int nghttp2_hd_deflate_new(nghttp2_hd_deflater** deflater, std::size_t max_table_size);
void nghttp2_hd_deflate_del(nghttp2_hd_deflater* deflater);
ssize_t nghttp2_hd_deflate_hd(nghttp2_hd_deflater* deflater, std::uint8_t* buf, std::size_t buflen,
                              const nghttp2_nv* nva, std::size_t nvlen);
int nghttp2_hd_inflate_new(nghttp2_hd_inflater** inflater);
void nghttp2_hd_inflate_del(nghttp2_hd_inflater* inflater);
ssize_t nghttp2_hd_inflate_hd2(nghttp2_hd_inflater* inflater, nghttp2_nv* nv_out,
                               int* inflate_flags, const std::uint8_t* in, std::size_t inlen,
                               int in_final);
int nghttp2_hd_inflate_end_headers(nghttp2_hd_inflater* inflater);
}

namespace {

constexpr int inflate_final = 0x01;
constexpr int inflate_emit = 0x02;

std::vector<nghttp2_nv> nghttp2_request() {
  std::vector<nghttp2_nv> nva;
  for (const auto& f : request) {
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())),
                   f.name.size(), f.value.size(), 0});
  }
  return nva;
}

std::size_t inflate_block(nghttp2_hd_inflater* inf, const std::vector<std::byte>& block) {
  const auto* in = reinterpret_cast<const std::uint8_t*>(block.data());
  std::size_t left = block.size();
  std::size_t bytes = 0;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, left, 1);
    if (rv < 0) std::abort();
    in += rv;
    left -= static_cast<std::size_t>(rv);
    if (flags & inflate_emit) bytes += nv.namelen + nv.valuelen;
    if (flags & inflate_final) {
      nghttp2_hd_inflate_end_headers(inf);
      return bytes;
    }
    if (left == 0 && !(flags & inflate_emit)) return bytes;
  }
}

void bm_nghttp2_encode_first_block(benchmark::State& state) {
  const auto nva = nghttp2_request();
  std::vector<std::uint8_t> out(4096);
  ssize_t n = 0;
  for (auto _ : state) {
    nghttp2_hd_deflater* def = nullptr;
    nghttp2_hd_deflate_new(&def, 4096);
    n = nghttp2_hd_deflate_hd(def, out.data(), out.size(), nva.data(), nva.size());
    benchmark::DoNotOptimize(n);
    nghttp2_hd_deflate_del(def);
  }
  state.counters["block_bytes"] = static_cast<double>(n);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_nghttp2_encode_first_block);

void bm_nghttp2_encode_repeat_block(benchmark::State& state) {
  const auto nva = nghttp2_request();
  std::vector<std::uint8_t> out(4096);
  nghttp2_hd_deflater* def = nullptr;
  nghttp2_hd_deflate_new(&def, 4096);
  ssize_t n = nghttp2_hd_deflate_hd(def, out.data(), out.size(), nva.data(), nva.size());
  for (auto _ : state) {
    n = nghttp2_hd_deflate_hd(def, out.data(), out.size(), nva.data(), nva.size());
    benchmark::DoNotOptimize(n);
  }
  nghttp2_hd_deflate_del(def);
  state.counters["block_bytes"] = static_cast<double>(n);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_nghttp2_encode_repeat_block);

// The same blocks bm_decode_* decode (Portico's encoding of the request).
void bm_nghttp2_decode_first_block(benchmark::State& state) {
  const std::vector<std::byte> block = encoder().encode(request);
  for (auto _ : state) {
    nghttp2_hd_inflater* inf = nullptr;
    nghttp2_hd_inflate_new(&inf);
    benchmark::DoNotOptimize(inflate_block(inf, block));
    nghttp2_hd_inflate_del(inf);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_nghttp2_decode_first_block);

void bm_nghttp2_decode_repeat_block(benchmark::State& state) {
  encoder e;
  const std::vector<std::byte> first = e.encode(request);
  const std::vector<std::byte> block = e.encode(request);
  nghttp2_hd_inflater* inf = nullptr;
  nghttp2_hd_inflate_new(&inf);
  inflate_block(inf, first);
  for (auto _ : state)
    benchmark::DoNotOptimize(inflate_block(inf, block));
  nghttp2_hd_inflate_del(inf);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plain_size()));
}
BENCHMARK(bm_nghttp2_decode_repeat_block);

}  // namespace
#endif  // PORTICO_BENCH_NGHTTP2

BENCHMARK_MAIN();
