// permessage-deflate (RFC 7692).
#include "ws/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ws/syntax.hpp"

namespace portico::ws {
namespace {

using detail::ascii_iequals;
using detail::is_ows;
using detail::is_token;
using detail::trim_ows;

constexpr std::string_view extension_name = "permessage-deflate";

struct param {
  std::string_view name;
  std::string value;  // unescaped
  bool has_value = false;
};

struct extension {
  std::string_view name;
  std::vector<param> params;
};

// extension = extension-token *( ";" extension-param )
// extension-param = token [ "=" (token | quoted-string) ]       (RFC 6455 §9.1)
// "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
// conform to the 'token' ABNF."
bool parse_extension(std::string_view s, extension& out) {
  std::size_t i = 0;
  auto skip_ows = [&] {
    while (i < s.size() && is_ows(s[i]))
      ++i;
  };
  auto token = [&]() -> std::string_view {
    const std::size_t b = i;
    while (i < s.size() && detail::is_tchar(s[i]))
      ++i;
    return s.substr(b, i - b);
  };
  skip_ows();
  out.name = token();
  if (out.name.empty()) return false;
  skip_ows();
  while (i < s.size()) {
    if (s[i] != ';') return false;
    ++i;
    skip_ows();
    param p;
    p.name = token();
    if (p.name.empty()) return false;
    skip_ows();
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_ows();
      p.has_value = true;
      if (i < s.size() && s[i] == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          char c = s[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i == s.size()) return false;
            c = s[i++];
          }
          p.value.push_back(c);
        }
        if (!closed || !is_token(p.value)) return false;
      } else {
        p.value = std::string(token());
        if (p.value.empty()) return false;
      }
      skip_ows();
    }
    out.params.push_back(std::move(p));
  }
  return true;
}

// "a decimal integer value without leading zeroes between 8 to 15, inclusive" (§7.1.2.1).
std::optional<std::uint8_t> window_bits(std::string_view v) {
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return static_cast<std::uint8_t>(v[0] - '0');
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
    return static_cast<std::uint8_t>(10 + v[1] - '0');
  return std::nullopt;
}

// One permessage-deflate offer against the policy (§7.1): the agreed parameters, or nullopt to
// decline it.
std::optional<std::pair<deflate_params, bool>> consider(const extension& e,
                                                        const deflate_config& cfg) {
  bool seen_snct = false, seen_cnct = false;
  std::optional<std::uint8_t> smwb;
  bool has_cmwb = false;
  std::optional<std::uint8_t> cmwb;
  for (std::size_t k = 0; k < e.params.size(); ++k) {
    const param& p = e.params[k];
    for (std::size_t j = 0; j < k; ++j)
      if (ascii_iequals(e.params[j].name, p.name)) return std::nullopt;  // duplicate (§7)
    if (ascii_iequals(p.name, "server_no_context_takeover")) {
      if (p.has_value) return std::nullopt;
      seen_snct = true;
    } else if (ascii_iequals(p.name, "client_no_context_takeover")) {
      if (p.has_value) return std::nullopt;
      seen_cnct = true;
    } else if (ascii_iequals(p.name, "server_max_window_bits")) {
      if (!p.has_value) return std::nullopt;
      smwb = window_bits(p.value);
      if (!smwb) return std::nullopt;
    } else if (ascii_iequals(p.name, "client_max_window_bits")) {
      has_cmwb = true;
      if (p.has_value) {  // §7.1.2.2: the value is optional in an offer
        cmwb = window_bits(p.value);
        if (!cmwb) return std::nullopt;
      }
    } else {
      return std::nullopt;  // unknown parameter (§7)
    }
  }
  deflate_params a;
  a.server_no_context_takeover = seen_snct || cfg.server_no_context_takeover;
  a.client_no_context_takeover = seen_cnct || cfg.request_client_no_context_takeover;
  const std::uint8_t our_max = std::clamp<std::uint8_t>(cfg.server_max_window_bits, 9, 15);
  if (smwb) {
    // zlib cannot compress raw DEFLATE with a 256-byte window: decline (§7.1.2.1).
    if (*smwb < 9) return std::nullopt;
    a.server_max_window_bits = std::min(*smwb, our_max);
  } else {
    a.server_max_window_bits = our_max;
  }
  bool include_cmwb = false;
  a.client_max_window_bits = cmwb.value_or(15);
  if (has_cmwb) {
    const std::uint8_t want = std::clamp<std::uint8_t>(cfg.client_max_window_bits, 8, 15);
    if (want < a.client_max_window_bits) {
      a.client_max_window_bits = want;
      include_cmwb = true;
    }
  }
  return std::make_pair(a, include_cmwb);
}

}  // namespace

std::string format_deflate_response(const deflate_params& p, bool include_client_max_window_bits) {
  std::string r(extension_name);
  if (p.server_no_context_takeover) r += "; server_no_context_takeover";
  if (p.client_no_context_takeover) r += "; client_no_context_takeover";
  if (p.server_max_window_bits < 15)
    r += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  if (include_client_max_window_bits)
    r += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
  return r;
}

extension_negotiation negotiate_deflate(std::span<const std::string_view> values,
                                        const deflate_config& cfg) {
  extension_negotiation out;
  std::vector<extension> offers;
  for (std::string_view v : values) {
    const bool ok = detail::for_each_list_element(v, [&](std::string_view element) {
      extension e;
      if (!parse_extension(element, e)) return false;
      offers.push_back(std::move(e));
      return true;
    });
    if (!ok) {
      out.malformed = true;
      return out;
    }
  }
  if (!cfg.enabled) return out;
  for (const extension& e : offers) {
    if (!ascii_iequals(e.name, extension_name)) continue;
    if (auto agreed = consider(e, cfg)) {
      out.params = agreed->first;
      out.response = format_deflate_response(agreed->first, agreed->second);
      return out;
    }
  }
  return out;
}

// ---- inflater ---------------------------------------------------------------------------------

struct inflater::state {
  z_stream s{};
  bool ready = false;
  ~state() {
    if (ready) inflateEnd(&s);
  }
};

inflater::inflater(bool no_context_takeover)
    : z_(std::make_unique<state>()), no_context_takeover_(no_context_takeover) {}
inflater::~inflater() = default;

bool inflater::init() {
  if (z_->ready) return true;
  // Raw DEFLATE (negative windowBits) with the largest window: it inflates data compressed
  // with any client_max_window_bits.
  if (inflateInit2(&z_->s, -15) != Z_OK) {
    oom_ = true;
    return false;
  }
  z_->ready = true;
  return true;
}

inflater::status inflater::run(std::span<const std::byte> in, std::string& out, std::size_t limit) {
  if (stream_ended_ || in.empty()) return status::ok;
  if (!init()) return status::error;
  z_stream& s = z_->s;
  // zlib's interface is not const-correct; it does not write through next_in.
  s.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  std::size_t used = out.size();
  const std::size_t cap = limit == SIZE_MAX ? limit : limit + 1;
  for (;;) {
    if (used == out.size()) {
      if (used >= cap) {
        out.resize(used);
        return status::too_big;
      }
      // Grow geometrically from 16 KiB, never past limit + 1.
      const std::size_t grow = std::max<std::size_t>(16 * 1024, used / 2);
      out.resize(std::min(cap, used + std::min<std::size_t>(grow, 1u << 30)));
    }
    const std::size_t room = std::min<std::size_t>(out.size() - used, 1u << 30);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    s.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&s, Z_SYNC_FLUSH);
    used += room - s.avail_out;
    if (rc == Z_STREAM_END) {
      // A block with BFINAL (RFC 7692 §7.2.3.3): the stream is over; what follows in this
      // message (the tail) is ignored, and the next message starts a new stream.
      stream_ended_ = true;
      inflateReset(&s);
      break;
    }
    if (rc == Z_MEM_ERROR) {
      oom_ = true;
      out.resize(used);
      return status::error;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(used);
      return status::error;
    }
    if (used > limit) {
      out.resize(used);
      return status::too_big;
    }
    // Done when all input is taken and zlib had room left (nothing more pending).
    if (s.avail_in == 0 && s.avail_out != 0) break;
    if (rc == Z_BUF_ERROR && s.avail_out != 0) break;
  }
  out.resize(used);
  if (used > limit) return status::too_big;
  return status::ok;
}

inflater::status inflater::feed(std::span<const std::byte> in, std::string& out,
                                std::size_t limit) {
  return run(in, out, limit);
}

inflater::status inflater::finish(std::string& out, std::size_t limit) {
  static constexpr std::byte tail[4] = {std::byte{0x00}, std::byte{0x00}, std::byte{0xff},
                                        std::byte{0xff}};
  const status st = run(tail, out, limit);
  stream_ended_ = false;
  if (no_context_takeover_ && z_->ready) inflateReset(&z_->s);
  return st;
}

// ---- deflater ---------------------------------------------------------------------------------

struct deflater::state {
  z_stream s{};
  bool ready = false;
  ~state() {
    if (ready) deflateEnd(&s);
  }
};

deflater::deflater(bool no_context_takeover, std::uint8_t window_bits, int level, int mem_level)
    : z_(std::make_unique<state>()),
      no_context_takeover_(no_context_takeover),
      window_bits_(std::clamp<int>(window_bits, 9, 15)),
      level_(std::clamp(level, 1, 9)),
      mem_level_(std::clamp(mem_level, 1, 9)) {}
deflater::~deflater() = default;

bool deflater::compress(std::span<const std::byte> in, std::string& out) {
  if (!z_->ready) {
    // Allocated on the first compressed message only: an idle connection holds no zlib state.
    if (deflateInit2(&z_->s, level_, Z_DEFLATED, -window_bits_, mem_level_, Z_DEFAULT_STRATEGY) !=
        Z_OK)
      return false;
    z_->ready = true;
  }
  z_stream& s = z_->s;
  s.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  const std::size_t start = out.size();
  std::size_t used = start;
  for (;;) {
    const std::size_t room = std::max<std::size_t>(deflateBound(&s, s.avail_in) + 16, 64);
    out.resize(used + room);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    s.avail_out = static_cast<uInt>(room);
    // RFC 7692 §7.2.1: compress, then flush with an empty stored block (Z_SYNC_FLUSH).
    const int rc = deflate(&s, Z_SYNC_FLUSH);
    used += room - s.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      out.resize(start);
      return false;
    }
    if (s.avail_in == 0 && s.avail_out != 0) break;
  }
  out.resize(used);
  // Remove the 0x00 0x00 0xff 0xff the flush ends with (§7.2.1 step 2).
  if (used - start >= 4 && std::memcmp(out.data() + used - 4, "\x00\x00\xff\xff", 4) == 0)
    out.resize(used - 4);
  if (out.size() == start) out.push_back('\0');  // §7.2.3.6: an empty message is 0x00
  if (no_context_takeover_) deflateReset(&s);
  return true;
}

}  // namespace portico::ws
