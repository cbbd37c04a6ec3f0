// Tests for the HTTP/1.1 request parser (src/http1/parser.cpp).
//
// Every input is parsed in one piece, split at every byte position and fed byte by byte; the
// outcomes must be identical. Each call gets a fresh heap copy of exactly the available bytes, so
// AddressSanitizer catches a read past the end and the parser cannot keep pointers across calls.
#include "http1/parser.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace portico::http1 {
namespace {

using fields = std::vector<std::pair<std::string, std::string>>;

// Everything observable about one request, copied out of the parser's views.
struct outcome {
  std::string status;  // "done", "need_more(head)", "need_more(body)", "error"
  std::error_code error;
  std::size_t head_consumed = 0;
  std::size_t body_consumed = 0;
  std::string method;
  std::string target;
  int version_minor = -1;
  fields headers;
  body_framing framing = body_framing::none;
  std::uint64_t content_length = 0;
  std::string host;
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
  bool expect_continue = false;
  bool unsupported_expect = false;
  std::string body;
  fields trailers;
};

std::string describe(const std::vector<outcome>& v) {
  std::ostringstream os;
  for (const auto& o : v) {
    os << o.status << " err=" << o.error.message() << " head=" << o.head_consumed
       << " body=" << o.body_consumed << " [" << o.method << "] [" << o.target << "] 1."
       << o.version_minor << " framing=" << static_cast<int>(o.framing)
       << " cl=" << o.content_length << " host=[" << o.host << "] flags=" << o.close << o.keep_alive
       << o.upgrade << o.expect_continue << o.unsupported_expect << " body=[" << o.body
       << "] headers={";
    for (const auto& [n, val] : o.headers)
      os << n << ":[" << val << "] ";
    os << "} trailers={";
    for (const auto& [n, val] : o.trailers)
      os << n << ":[" << val << "] ";
    os << "}\n";
  }
  return os.str();
}

fields copy_fields(std::span<const header_field> fs) {
  fields r;
  for (const auto& f : fs)
    r.emplace_back(std::string(f.name), std::string(f.value));
  return r;
}

bool points_into(std::span<const char> piece, const std::vector<char>& b) {
  return piece.empty() ||
         (piece.data() >= b.data() && piece.data() + piece.size() <= b.data() + b.size());
}

// Parses the requests in `input` one after another, the way a session does: bytes become
// available at the positions in `schedule` (increasing, the last one is input.size()).
std::vector<outcome> run(std::string_view input, const std::vector<std::size_t>& schedule,
                         const limits& lim = limits{}) {
  request_parser parser(lim);
  request_head head;
  std::vector<outcome> out;
  std::size_t off = 0;
  std::size_t si = 0;
  std::size_t avail = schedule.at(0);
  auto copy = [&] { return std::vector<char>(input.data() + off, input.data() + avail); };
  while (off < input.size()) {
    outcome r;
    parser.reset();
    while (true) {
      const std::vector<char> b = copy();
      const head_result hr = parser.parse_head(b, head);
      if (hr.status == parse_status::need_more) {
        EXPECT_EQ(hr.consumed, 0u);
        if (si + 1 < schedule.size()) {
          avail = schedule[++si];
          continue;
        }
        r.status = "need_more(head)";
        out.push_back(r);
        return out;
      }
      if (hr.status == parse_status::error) {
        EXPECT_TRUE(hr.error);
        r.status = "error";
        r.error = hr.error;
        out.push_back(r);
        return out;
      }
      EXPECT_TRUE(points_into(std::span(head.method.data(), head.method.size()), b));
      EXPECT_TRUE(points_into(std::span(head.target.data(), head.target.size()), b));
      r.head_consumed = hr.consumed;
      r.method = head.method;
      r.target = head.target;
      r.version_minor = head.version_minor;
      r.headers = copy_fields(head.headers);
      r.framing = head.framing;
      r.content_length = head.content_length;
      r.host = head.host;
      r.close = head.connection_close;
      r.keep_alive = head.connection_keep_alive;
      r.upgrade = head.connection_upgrade;
      r.expect_continue = head.expect_continue;
      r.unsupported_expect = head.has_unsupported_expect;
      off += hr.consumed;
      break;
    }
    while (true) {
      const std::vector<char> b = copy();
      const body_result br = parser.parse_body(b);
      EXPECT_LE(br.consumed, b.size());
      EXPECT_TRUE(points_into(br.data, b));
      r.body.append(br.data.data(), br.data.size());
      r.body_consumed += br.consumed;
      off += br.consumed;
      if (br.status == parse_status::error) {
        EXPECT_TRUE(br.error);
        EXPECT_EQ(br.consumed, 0u);
        // How much framing was consumed before the error depends on the split (the trailer
        // section, for one, is consumed only when whole); the connection is closed anyway.
        r.body_consumed = 0;
        r.status = "error";
        r.error = br.error;
        out.push_back(r);
        return out;
      }
      if (br.status == parse_status::done) {
        for (const auto& t : parser.trailers()) {
          EXPECT_TRUE(points_into(std::span(t.value.data(), t.value.size()), b));
        }
        r.trailers = copy_fields(parser.trailers());
        EXPECT_EQ(parser.body_bytes(), r.body.size());
        break;
      }
      if (br.consumed == 0) {
        if (si + 1 < schedule.size()) {
          avail = schedule[++si];
          continue;
        }
        r.status = "need_more(body)";
        out.push_back(r);
        return out;
      }
    }
    r.status = "done";
    out.push_back(r);
  }
  return out;
}

std::vector<outcome> run_whole(std::string_view input, const limits& lim = limits{}) {
  return run(input, {input.size()}, lim);
}

// The one-shot outcome must equal the outcome of every split and of byte-by-byte feeding.
// Large inputs are split at a sample of positions only (feeding them byte by byte is quadratic
// in this harness, which copies the buffer on each call).
void expect_split_invariant(std::string_view input, const limits& lim = limits{}) {
  const std::string whole = describe(run_whole(input, lim));
  const std::size_t n = input.size();
  std::vector<std::size_t> splits;
  if (n <= 4096) {
    for (std::size_t k = 0; k < n; ++k)
      splits.push_back(k);
  } else {
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, n / 7, n / 3, n / 2, n - 2, n - 1}) {
      splits.push_back(k);
    }
  }
  for (std::size_t k : splits) {
    SCOPED_TRACE("split at " + std::to_string(k));
    ASSERT_EQ(describe(run(input, {k, n}, lim)), whole);
  }
  if (n <= 4096 && n > 0) {
    std::vector<std::size_t> bytes;
    for (std::size_t k = 1; k <= n; ++k)
      bytes.push_back(k);
    SCOPED_TRACE("byte by byte");
    ASSERT_EQ(describe(run(input, bytes, lim)), whole);
  }
}

// picohttpparser's over-read test: each prefix of the input sits at the very end of a page that
// is followed by an inaccessible page, so any read past the end faults.
void expect_no_overread(std::string_view input) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  ASSERT_LE(input.size(), page);
  void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  char* base = static_cast<char*>(mem);
  ASSERT_EQ(mprotect(base + page, page, PROT_NONE), 0);
  const limits lim;
  for (std::size_t k = 0; k <= input.size(); ++k) {
    char* start = base + page - k;
    std::memcpy(start, input.data(), k);
    request_parser parser(lim);
    request_head head;
    const head_result hr = parser.parse_head(std::span<const char>(start, k), head);
    if (hr.status != parse_status::done) continue;
    std::size_t off = hr.consumed;
    for (int guard = 0; guard < 100000; ++guard) {
      const body_result br = parser.parse_body(std::span<const char>(start + off, k - off));
      off += br.consumed;
      if (br.status != parse_status::need_more || br.consumed == 0) break;
    }
    EXPECT_LE(off, k);
  }
  munmap(mem, 2 * page);
}

// ---------------------------------------------------------------------------------------------
// Valid requests.

struct valid_case {
  const char* name;
  std::string input;
  outcome expected;  // status "done"; head_consumed/body_consumed checked
};

outcome done(std::size_t head, std::size_t body, std::string method, std::string target, int minor,
             fields hs) {
  outcome o;
  o.status = "done";
  o.head_consumed = head;
  o.body_consumed = body;
  o.method = std::move(method);
  o.target = std::move(target);
  o.version_minor = minor;
  o.headers = std::move(hs);
  return o;
}

std::vector<valid_case> valid_cases() {
  std::vector<valid_case> v;
  {
    std::string in =
        "GET /index.html?q=1&r=%20 HTTP/1.1\r\n"
        "Host: example.com:8080\r\n"
        "User-Agent: test/1.0\r\n"
        "Accept: */*\r\n"
        "Connection: keep-alive, Upgrade\r\n"
        "Upgrade: websocket\r\n"
        "Expect: 100-Continue\r\n"
        "X-Empty:\r\n"
        "X-Spaces: \t a \t b \t \r\n"
        "\r\n";
    outcome o = done(in.size(), 0, "GET", "/index.html?q=1&r=%20", 1,
                     {{"Host", "example.com:8080"},
                      {"User-Agent", "test/1.0"},
                      {"Accept", "*/*"},
                      {"Connection", "keep-alive, Upgrade"},
                      {"Upgrade", "websocket"},
                      {"Expect", "100-Continue"},
                      {"X-Empty", ""},
                      {"X-Spaces", "a \t b"}});
    o.host = "example.com:8080";
    o.keep_alive = o.upgrade = o.expect_continue = true;
    v.push_back({"get_several_headers", in, o});
  }
  {
    std::string in = "GET HTTPS://Example.com:443/a/b?c HTTP/1.1\r\nHost: Example.com:443\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "HTTPS://Example.com:443/a/b?c", 1,
                     {{"Host", "Example.com:443"}});
    o.host = "Example.com:443";
    v.push_back({"absolute_form", in, o});
  }
  {
    std::string in = "GET http://[::1]:8080 HTTP/1.1\r\nhost: [::1]:8080\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "http://[::1]:8080", 1, {{"host", "[::1]:8080"}});
    o.host = "[::1]:8080";
    v.push_back({"absolute_form_ipv6_no_path", in, o});
  }
  {
    // RFC 9110 §2.5: a higher minor version of HTTP/1 is processed as HTTP/1.1.
    std::string in = "GET / HTTP/1.2\r\nHost: a.example\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "/", 1, {{"Host", "a.example"}});
    o.host = "a.example";
    v.push_back({"http12_as_http11", in, o});
  }
  {
    std::string in = "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n";
    outcome o = done(in.size(), 0, "OPTIONS", "*", 1, {{"Host", "a.example"}});
    o.host = "a.example";
    v.push_back({"options_asterisk", in, o});
  }
  {
    std::string in = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    outcome o = done(in.size(), 0, "CONNECT", "example.com:443", 1, {{"Host", "example.com:443"}});
    o.host = "example.com:443";
    v.push_back({"connect_authority", in, o});
  }
  {
    std::string in = "GET /old HTTP/1.0\r\nConnection: Close\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "/old", 0, {{"Connection", "Close"}});
    o.close = true;
    v.push_back({"http10_without_host", in, o});
  }
  {
    std::string in = "GET / HTTP/1.1\r\nHost:\r\n\r\n";
    v.push_back({"empty_host_origin_form", in, done(in.size(), 0, "GET", "/", 1, {{"Host", ""}})});
  }
  {
    std::string head = "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
    std::string in = head + "hello world";
    outcome o =
        done(head.size(), 11, "POST", "/submit", 1, {{"Host", "h"}, {"Content-Length", "11"}});
    o.host = "h";
    o.framing = body_framing::content_length;
    o.content_length = 11;
    o.body = "hello world";
    v.push_back({"post_content_length", in, o});
  }
  {
    std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
    outcome o = done(head.size(), 0, "POST", "/", 1, {{"Host", "h"}, {"Content-Length", "0"}});
    o.host = "h";
    o.framing = body_framing::content_length;
    v.push_back({"post_content_length_zero", head, o});
  }
  {
    // An empty list element on the first line; chunked on the second (RFC 9110 §5.6.1).
    std::string head =
        "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n"
        "transfer-encoding: Chunked\r\n\r\n";
    std::string body =
        "5;name=val;q=\"quo\\\"ted\" ; x ;y = z\r\nhello\r\n"
        "A\r\n0123456789\r\n"
        "000;last\r\n"
        "X-Checksum: abc\r\n"
        "X-Other: \t v w \r\n"
        "\r\n";
    outcome o = done(head.size(), body.size(), "POST", "/up", 1,
                     {{"Host", "h"}, {"Transfer-Encoding", ","}, {"transfer-encoding", "Chunked"}});
    o.host = "h";
    o.framing = body_framing::chunked;
    o.body = "hello0123456789";
    o.trailers = {{"X-Checksum", "abc"}, {"X-Other", "v w"}};
    v.push_back({"chunked_extensions_trailers", head + body, o});
  }
  {
    std::string head = "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string body = "0\r\n\r\n";
    outcome o = done(head.size(), body.size(), "PUT", "/x", 1,
                     {{"Host", "h"}, {"Transfer-Encoding", "chunked"}});
    o.host = "h";
    o.framing = body_framing::chunked;
    v.push_back({"chunked_empty", head + body, o});
  }
  {
    std::string in = "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9 \xff\x80\r\n\r\n";
    outcome o =
        done(in.size(), 0, "GET", "/", 1, {{"Host", "h"}, {"X-Name", "caf\xc3\xa9 \xff\x80"}});
    o.host = "h";
    v.push_back({"obs_text_in_value", in, o});
  }
  {
    std::string lead;
    for (int i = 0; i < 8; ++i)
      lead += "\r\n";
    std::string in = lead + "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "/", 1, {{"Host", "h"}});
    o.host = "h";
    v.push_back({"eight_leading_crlfs", in, o});
  }
  {
    std::string in = "M-SEARCH~! /x HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\n\r\n";
    outcome o =
        done(in.size(), 0, "M-SEARCH~!", "/x", 1, {{"Host", "h"}, {"Expect", "something-else"}});
    o.host = "h";
    o.unsupported_expect = true;
    v.push_back({"token_method_unsupported_expect", in, o});
  }
  {
    std::string in = "GET / HTTP/1.1\r\nHost: xn--bcher-kva.example:\r\nConnection: close\r\n\r\n";
    outcome o = done(in.size(), 0, "GET", "/", 1,
                     {{"Host", "xn--bcher-kva.example:"}, {"Connection", "close"}});
    o.host = "xn--bcher-kva.example:";
    o.close = true;
    v.push_back({"host_empty_port", in, o});
  }
  return v;
}

TEST(Http1Parser, ValidRequestsParseAsExpected) {
  for (const auto& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(describe(run_whole(c.input)), describe({c.expected}));
  }
}

TEST(Http1Parser, ValidRequestsSameAtEverySplit) {
  for (const auto& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    expect_split_invariant(c.input);
  }
}

TEST(Http1Parser, ValidRequestsNoOverread) {
  for (const auto& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    expect_no_overread(c.input);
  }
}

TEST(Http1Parser, LimitsAreInclusive) {
  const limits lim;
  // A request line of exactly max_request_line bytes is accepted.
  std::string line = "GET /" + std::string(lim.max_request_line - 14, 'a') + " HTTP/1.1";
  ASSERT_EQ(line.size(), lim.max_request_line);
  std::string in = line + "\r\nHost: h\r\n\r\n";
  auto r = run_whole(in);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, "done");
  expect_split_invariant(in);

  // 100 field lines are accepted.
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 1; i < 100; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  r = run_whole(many);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, "done");
  EXPECT_EQ(r[0].headers.size(), 100u);

  // A head of exactly max_header_bytes (CRLFCRLF included) is accepted.
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ";
  const std::size_t fill = lim.max_header_bytes - big.size() - 4;
  big += std::string(fill, 'b') + "\r\n\r\n";
  ASSERT_EQ(big.size(), lim.max_header_bytes);
  r = run_whole(big);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, "done");
  expect_split_invariant(big);
}

// ---------------------------------------------------------------------------------------------
// Malformed requests.

struct bad_case {
  const char* name;
  std::string input;
  errc expected;
  int status;
};

std::string req(const std::string& fields_crlf, const std::string& body = "") {
  return "POST / HTTP/1.1\r\nHost: h\r\n" + fields_crlf + "\r\n" + body;
}
std::string chunked(const std::string& body) {
  return req("Transfer-Encoding: chunked\r\n", body);
}

std::vector<bad_case> bad_cases() {
  const limits lim;
  std::vector<bad_case> v = {
      {"cl_and_te", req("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
       errc::content_length_with_transfer_encoding, 400},
      {"te_and_cl", req("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
       errc::content_length_with_transfer_encoding, 400},
      {"duplicate_cl", req("Content-Length: 5\r\nContent-Length: 5\r\n"),
       errc::duplicate_content_length, 400},
      {"cl_list", req("Content-Length: 5, 5\r\n"), errc::bad_content_length, 400},
      {"cl_plus", req("Content-Length: +5\r\n"), errc::bad_content_length, 400},
      {"cl_minus", req("Content-Length: -1\r\n"), errc::bad_content_length, 400},
      {"cl_empty", req("Content-Length:\r\n"), errc::bad_content_length, 400},
      {"cl_hex", req("Content-Length: 0x10\r\n"), errc::bad_content_length, 400},
      {"cl_overflow", req("Content-Length: 18446744073709551616\r\n"), errc::bad_content_length,
       400},
      {"cl_over_limit", req("Content-Length: 1048577\r\n"), errc::body_too_large, 413},
      {"cl_max_uint64", req("Content-Length: 18446744073709551615\r\n"), errc::body_too_large, 413},
      {"obs_fold", req("X-A: b\r\n c\r\n"), errc::obs_fold, 400},
      {"obs_fold_tab", req("X-A: b\r\n\tc\r\n"), errc::obs_fold, 400},
      {"fold_after_request_line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", errc::obs_fold, 400},
      {"bare_cr_in_value", req("X-A: b\rc\r\n"), errc::bare_cr, 400},
      {"bare_cr_line_end", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", errc::bare_cr, 400},
      {"bare_cr_request_line", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", errc::bare_cr, 400},
      {"bare_lf_everywhere", "GET / HTTP/1.1\nHost: h\n\n", errc::bare_lf, 400},
      {"bare_lf_field", req("X-A: b\n"), errc::bare_lf, 400},
      {"bare_lf_end", "GET / HTTP/1.1\r\nHost: h\r\n\n", errc::bare_lf, 400},
      {"bare_lf_leading", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bare_lf, 400},
      {"nul_in_value", req(std::string("X-A: a\0b\r\n", 10)), errc::bad_header_value, 400},
      {"del_in_value", req("X-A: a\x7f\r\n"), errc::bad_header_value, 400},
      {"ctl_in_value", req("X-A: a\x01\r\n"), errc::bad_header_value, 400},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", errc::bad_header_name, 400},
      {"tab_before_colon", req("X-A\t: b\r\n"), errc::bad_header_name, 400},
      {"bad_tchar_in_name", req("X(A): b\r\n"), errc::bad_header_name, 400},
      {"space_in_name", req("X A: b\r\n"), errc::bad_header_name, 400},
      {"empty_name", req(": b\r\n"), errc::bad_header_name, 400},
      {"no_colon", req("NoColon\r\n"), errc::bad_header_name, 400},
      {"utf8_in_name", req("X-\xc3\xa9: b\r\n"), errc::bad_header_name, 400},
      {"missing_host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", errc::missing_host, 400},
      {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", errc::duplicate_host, 400},
      {"two_hosts_http10", "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", errc::duplicate_host,
       400},
      {"host_with_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errc::bad_host, 400},
      {"host_with_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errc::bad_host, 400},
      {"host_with_userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", errc::bad_host, 400},
      {"host_bad_port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", errc::bad_host, 400},
      {"host_open_bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", errc::bad_host, 400},
      {"host_empty_absolute", "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", errc::bad_host, 400},
      {"te_gzip_chunked", req("Transfer-Encoding: gzip, chunked\r\n"),
       errc::unknown_transfer_coding, 501},
      {"te_gzip_then_chunked_lines",
       req("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
       errc::unknown_transfer_coding, 501},
      {"te_chunked_gzip", req("Transfer-Encoding: chunked, gzip\r\n"), errc::chunked_not_final,
       400},
      {"te_gzip_only", req("Transfer-Encoding: gzip\r\n"), errc::chunked_not_final, 400},
      {"te_chunked_twice", req("Transfer-Encoding: chunked, chunked\r\n"), errc::chunked_not_final,
       400},
      {"te_empty", req("Transfer-Encoding:\r\n"), errc::chunked_not_final, 400},
      {"te_chunked_param", req("Transfer-Encoding: chunked;q=1\r\n"), errc::bad_header_value, 400},
      {"te_not_token", req("Transfer-Encoding: chun ked\r\n"), errc::bad_header_value, 400},
      {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
       errc::transfer_encoding_http10, 400},
      {"connection_not_token", req("Connection: close, a b\r\n"), errc::bad_header_value, 400},
      {"http20", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", errc::unsupported_version, 505},
      {"http30", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", errc::unsupported_version, 505},
      {"http09_version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", errc::unsupported_version, 505},
      {"lowercase_version", "GET / http/1.1\r\nHost: h\r\n\r\n", errc::bad_version, 400},
      {"version_two_digits", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", errc::bad_version, 400},
      {"version_no_dot", "GET / HTTP/11\r\nHost: h\r\n\r\n", errc::bad_version, 400},
      {"version_empty", "GET / \r\nHost: h\r\n\r\n", errc::bad_version, 400},
      {"http09_request", "GET /\r\n\r\n", errc::bad_request_line, 400},
      {"two_spaces_after_method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_request_line,
       400},
      {"two_spaces_after_target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_request_line,
       400},
      {"trailing_space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", errc::bad_request_line, 400},
      {"leading_space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_request_line, 400},
      {"method_only", "GET\r\n\r\n", errc::bad_request_line, 400},
      {"bad_method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_method, 400},
      {"tab_separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_method, 400},
      {"target_high_byte", "GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"target_tab", "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"target_fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"target_relative", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"asterisk_not_options", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"connect_origin_form", "CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"connect_no_port", "CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"authority_not_connect", "GET h:80 HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"absolute_ftp", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"absolute_empty_host", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target, 400},
      {"nine_leading_crlfs",
       "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
       errc::bad_request_line, 400},
      // Chunked bodies.
      {"chunk_size_not_hex", chunked("zz\r\n"), errc::bad_chunk, 400},
      {"chunk_size_empty", chunked("\r\nabc\r\n"), errc::bad_chunk, 400},
      {"chunk_size_negative", chunked("-1\r\n"), errc::bad_chunk, 400},
      {"chunk_size_space", chunked("3 \r\nabc\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_size_lf_only", chunked("3\nabc\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_data_no_crlf", chunked("3\r\nabcX\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_data_cr_only", chunked("3\r\nabc\r0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_size_17_digits", chunked("00000000000000001\r\nx\r\n0\r\n\r\n"), errc::bad_chunk,
       400},
      {"chunk_size_overflow", chunked("1ffffffffffffffff\r\n"), errc::bad_chunk, 400},
      {"chunk_ext_no_name", chunked("3;=x\r\nabc\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_ext_bad_value", chunked("3;a=\r\nabc\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_ext_unterminated_quote", chunked("3;a=\"x\r\nabc\r\n0\r\n\r\n"), errc::bad_chunk,
       400},
      {"chunk_ext_ctl", chunked("3;a\x01\r\nabc\r\n0\r\n\r\n"), errc::bad_chunk, 400},
      {"chunk_line_too_long",
       chunked("3;a=" + std::string(lim.max_chunk_line, 'x') + "\r\nabc\r\n0\r\n\r\n"),
       errc::bad_chunk, 400},
      {"chunk_over_limit", chunked("100001\r\n"), errc::body_too_large, 413},
      {"chunks_sum_over_limit", chunked("80000\r\n" + std::string(0x80000, 'a') + "\r\n80001\r\n"),
       errc::body_too_large, 413},
      {"trailer_obs_fold", chunked("0\r\nX-T: a\r\n b\r\n\r\n"), errc::bad_trailer, 400},
      {"trailer_bare_lf", chunked("0\r\nX-T: a\n\r\n"), errc::bad_trailer, 400},
      {"trailer_bare_cr", chunked("0\r\nX-T: a\rb\r\n\r\n"), errc::bad_trailer, 400},
      {"trailer_space_before_colon", chunked("0\r\nX-T : a\r\n\r\n"), errc::bad_trailer, 400},
      {"trailer_nul", chunked(std::string("0\r\nX-T: \0\r\n\r\n", 13)), errc::bad_trailer, 400},
  };

  // 414: a request line one byte over the limit, and an endless one without CRLF.
  std::string long_line = "GET /" + std::string(lim.max_request_line - 13, 'a') + " HTTP/1.1";
  v.push_back({"request_line_8k_plus_1", long_line + "\r\nHost: h\r\n\r\n",
               errc::request_line_too_long, 414});
  v.push_back({"request_line_endless", "GET /" + std::string(lim.max_request_line, 'a'),
               errc::request_line_too_long, 414});
  // 431: a head over the byte limit, complete or not.
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 20; ++i)
    big += "X-" + std::to_string(i) + ": " + std::string(4000, 'v') + "\r\n";
  v.push_back({"head_over_64k", big + "\r\n", errc::header_too_large, 431});
  v.push_back({"head_over_64k_incomplete", big, errc::header_too_large, 431});
  std::string exact = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ";
  exact += std::string(lim.max_header_bytes - exact.size() - 3, 'b') + "\r\n\r\n";
  v.push_back({"head_one_byte_over", exact, errc::header_too_large, 431});
  // 431: 101 field lines.
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  v.push_back({"101_headers", many + "\r\n", errc::too_many_headers, 431});
  // Trailer limits.
  std::string trailers = "0\r\n";
  for (int i = 0; i < 33; ++i)
    trailers += "T" + std::to_string(i) + ": v\r\n";
  v.push_back({"33_trailers", chunked(trailers + "\r\n"), errc::too_many_headers, 431});
  v.push_back({"trailer_over_16k",
               chunked("0\r\nT: " + std::string(lim.max_trailer_bytes, 'v') + "\r\n\r\n"),
               errc::header_too_large, 431});
  return v;
}

TEST(Http1Parser, MalformedRequestsAreRefused) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    const auto r = run_whole(c.input);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r.back().status, "error");
    EXPECT_EQ(r.back().error, make_error_code(c.expected))
        << "got " << r.back().error.message() << ", want " << make_error_code(c.expected).message();
    EXPECT_EQ(status_for(r.back().error), c.status);
  }
}

TEST(Http1Parser, MalformedRequestsSameAtEverySplit) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    expect_split_invariant(c.input);
  }
}

TEST(Http1Parser, MalformedRequestsNoOverread) {
  for (const auto& c : bad_cases()) {
    if (c.input.size() > 4096) continue;
    SCOPED_TRACE(c.name);
    expect_no_overread(c.input);
  }
}

// ---------------------------------------------------------------------------------------------
// Incremental behaviour.

TEST(Http1Parser, NeedMoreConsumesNothing) {
  const limits lim;
  request_parser p(lim);
  request_head h;
  const std::string in = "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r";
  for (std::size_t k = 0; k <= in.size(); ++k) {
    const auto r = p.parse_head(std::span(in.data(), k), h);
    EXPECT_EQ(r.status, parse_status::need_more) << k;
    EXPECT_EQ(r.consumed, 0u);
  }
  const std::string full = in + "\n";
  const auto r = p.parse_head(full, h);
  EXPECT_EQ(r.status, parse_status::done);
  EXPECT_EQ(r.consumed, full.size());  // the leading CRLF counts as consumed
  EXPECT_EQ(h.target, "/");
}

TEST(Http1Parser, LimitsFailBeforeTheLineEnds) {
  const limits lim;
  {
    // An endless request line fails as soon as it passes the limit.
    request_parser p(lim);
    request_head h;
    const std::string in = "GET /" + std::string(lim.max_request_line, 'a');
    auto r = p.parse_head(std::span(in.data(), lim.max_request_line), h);
    EXPECT_EQ(r.status, parse_status::need_more);
    r = p.parse_head(std::span(in.data(), lim.max_request_line + 1), h);
    EXPECT_EQ(r.status, parse_status::error);
    EXPECT_EQ(r.error, errc::request_line_too_long);
  }
  {
    // An endless field value fails as soon as the head passes the byte limit.
    request_parser p(lim);
    request_head h;
    std::string in = "GET / HTTP/1.1\r\nX: ";
    in += std::string(lim.max_header_bytes - in.size(), 'v');
    auto r = p.parse_head(in, h);
    EXPECT_EQ(r.status, parse_status::need_more);
    in += 'v';
    r = p.parse_head(in, h);
    EXPECT_EQ(r.status, parse_status::error);
    EXPECT_EQ(r.error, errc::header_too_large);
  }
  {
    // The 101st field line is refused before the head ends.
    request_parser p(lim);
    request_head h;
    std::string in = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i)
      in += "X: v\r\n";
    const auto r = p.parse_head(in, h);
    EXPECT_EQ(r.status, parse_status::error);
    EXPECT_EQ(r.error, errc::too_many_headers);
  }
  {
    // An HTTP/0.9-style request is refused as soon as its line is in (no waiting for a head
    // end that such a client never sends).
    request_parser p(lim);
    request_head h;
    const auto r = p.parse_head(std::string_view("GET /\r\n"), h);
    EXPECT_EQ(r.status, parse_status::error);
    EXPECT_EQ(r.error, errc::bad_request_line);
  }
}

TEST(Http1Parser, CustomLimitsAreHonoured) {
  limits lim;
  lim.max_request_line = 20;
  lim.max_header_count = 2;
  lim.max_body_size = 4;
  EXPECT_EQ(run_whole("GET /0123456789012 HTTP/1.1\r\nHost: h\r\n\r\n", lim).back().error,
            errc::request_line_too_long);
  EXPECT_EQ(run_whole("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n", lim).back().status, "done");
  EXPECT_EQ(run_whole("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\nC: d\r\n\r\n", lim).back().error,
            errc::too_many_headers);
  const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
  EXPECT_EQ(run_whole(post + "Content-Length: 4\r\n\r\nabcd", lim).back().body, "abcd");
  EXPECT_EQ(run_whole(post + "Content-Length: 5\r\n\r\nabcde", lim).back().error,
            errc::body_too_large);
  EXPECT_EQ(
      run_whole(post + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n", lim)
          .back()
          .body,
      "abcd");
  EXPECT_EQ(
      run_whole(post + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n", lim)
          .back()
          .error,
      errc::body_too_large);
}

TEST(Http1Parser, PipelinedRequestsParseOneAfterAnother) {
  const std::string a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string b_head = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  const std::string c_head = "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string c_body = "3\r\nxyz\r\n0\r\nT: 1\r\n\r\n";
  const std::string d = "\r\nGET /d HTTP/1.0\r\n\r\n";
  const std::string in = a + b_head + "abc" + c_head + c_body + d;
  const auto r = run_whole(in);
  ASSERT_EQ(r.size(), 4u) << describe(r);
  EXPECT_EQ(r[0].target, "/a");
  EXPECT_EQ(r[0].head_consumed, a.size());
  EXPECT_EQ(r[0].body_consumed, 0u);
  EXPECT_EQ(r[1].target, "/b");
  EXPECT_EQ(r[1].head_consumed, b_head.size());
  EXPECT_EQ(r[1].body_consumed, 3u);
  EXPECT_EQ(r[1].body, "abc");
  EXPECT_EQ(r[2].target, "/c");
  EXPECT_EQ(r[2].head_consumed, c_head.size());
  EXPECT_EQ(r[2].body_consumed, c_body.size());
  EXPECT_EQ(r[2].body, "xyz");
  EXPECT_EQ(r[2].trailers, (fields{{"T", "1"}}));
  EXPECT_EQ(r[3].target, "/d");
  EXPECT_EQ(r[3].version_minor, 0);
  EXPECT_EQ(r[3].head_consumed, d.size());
  for (const auto& o : r)
    EXPECT_EQ(o.status, "done");
  expect_split_invariant(in);
}

TEST(Http1Parser, ContentLengthBodyStopsAtItsEnd) {
  const limits lim;
  request_parser p(lim);
  request_head h;
  const std::string in = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcdGET";
  const auto hr = p.parse_head(in, h);
  ASSERT_EQ(hr.status, parse_status::done);
  std::span<const char> rest(in.data() + hr.consumed, in.size() - hr.consumed);
  auto br = p.parse_body(rest.first(2));
  EXPECT_EQ(br.status, parse_status::need_more);
  EXPECT_EQ(br.consumed, 2u);
  EXPECT_EQ(std::string_view(br.data.data(), br.data.size()), "ab");
  br = p.parse_body(rest.subspan(2));
  EXPECT_EQ(br.status, parse_status::done);
  EXPECT_EQ(br.consumed, 2u);
  EXPECT_EQ(std::string_view(br.data.data(), br.data.size()), "cd");
  EXPECT_EQ(p.body_bytes(), 4u);
}

TEST(Http1Parser, NoBodyIsDoneAtOnce) {
  const limits lim;
  request_parser p(lim);
  request_head h;
  const std::string in = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n";
  const auto hr = p.parse_head(in, h);
  ASSERT_EQ(hr.status, parse_status::done);
  EXPECT_EQ(hr.consumed, 27u);
  EXPECT_EQ(h.framing, body_framing::none);
  const auto br = p.parse_body(std::span(in).subspan(hr.consumed));
  EXPECT_EQ(br.status, parse_status::done);
  EXPECT_EQ(br.consumed, 0u);
  EXPECT_TRUE(br.data.empty());
}

TEST(Http1Parser, HeaderStorageIsReused) {
  const limits lim;
  request_parser p(lim);
  request_head h;
  const std::string in = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
  ASSERT_EQ(p.parse_head(in, h).status, parse_status::done);
  const auto* data = h.headers.data();
  const auto cap = h.headers.capacity();
  for (int i = 0; i < 3; ++i) {
    p.reset();
    ASSERT_EQ(p.parse_head(in, h).status, parse_status::done);
    EXPECT_EQ(h.headers.data(), data);
    EXPECT_EQ(h.headers.capacity(), cap);
    EXPECT_EQ(h.headers.size(), 3u);
  }
  EXPECT_EQ(h.find("a"), "1");
  EXPECT_EQ(h.find("HOST"), "h");
  EXPECT_EQ(h.find("missing"), "");
}

TEST(Http1Errors, CategoryAndStatus) {
  EXPECT_STREQ(http1_category().name(), "portico.http1");
  for (int v = static_cast<int>(errc::bad_request_line);
       v <= static_cast<int>(errc::unsupported_version); ++v) {
    const std::error_code ec(v, http1_category());
    EXPECT_FALSE(ec.message().empty());
    EXPECT_NE(ec.message(), "unknown http1 error") << v;
    const int s = status_for(ec);
    EXPECT_TRUE(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505);
  }
  EXPECT_EQ(status_for(errc::request_line_too_long), 414);
  EXPECT_EQ(status_for(errc::too_many_headers), 431);
  EXPECT_EQ(status_for(errc::header_too_large), 431);
  EXPECT_EQ(status_for(errc::body_too_large), 413);
  EXPECT_EQ(status_for(errc::unknown_transfer_coding), 501);
  EXPECT_EQ(status_for(errc::unsupported_version), 505);
  EXPECT_EQ(status_for(errc::bad_chunk), 400);
  EXPECT_EQ(status_for(std::make_error_code(std::errc::io_error)), 400);
}

}  // namespace
}  // namespace portico::http1
