// permessage-deflate (RFC 7692): negotiation of the extension offer, and the per-connection
// compressor and decompressor (zlib, raw DEFLATE).
//
// Negotiation (RFC 7692 §5, §7.1): the server reads the client's offers in order and accepts
// the first permessage-deflate offer it can honour. An offer is declined (skipped; the next
// one is considered, and with none left the connection runs without compression) when it has
// an unknown parameter, a parameter twice, a value where none is allowed, or a window-bits value
// that is not a decimal integer 8..15 without leading zeros (RFC 7692 §7, §7.1.2), or when it
// asks for server_max_window_bits=8, which zlib cannot produce for raw DEFLATE (§7.1.2.1 lets
// a server decline a configuration it does not support). A Sec-WebSocket-Extensions value that
// does not parse as RFC 6455 §9.1 extension-list at all makes the whole handshake fail (400).
//
// Decompression bombs: inflater::feed() never makes the message larger than the limit it is
// given (plus one byte to tell "exactly at the limit" from "over it"); it stops there and
// reports too_big, so memory stays bounded whatever the compression ratio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portico::ws {

/// The agreed parameters of a connection (RFC 7692 §7.1).
struct deflate_params {
  /// The server resets its compressor after each message (§7.1.1.1).
  bool server_no_context_takeover = false;
  /// The client resets its compressor after each message; we then reset our decompressor too.
  bool client_no_context_takeover = false;
  /// LZ77 window of the server's compressor, 2^bits (9..15 here; §7.1.2.1).
  std::uint8_t server_max_window_bits = 15;
  /// LZ77 window limit of the client's compressor (8..15; §7.1.2.2). Our decompressor always
  /// uses a 32 KiB window, which decodes any smaller one.
  std::uint8_t client_max_window_bits = 15;
  bool operator==(const deflate_params&) const = default;
};

/// The server's policy for permessage-deflate, with defaults.
struct deflate_config {
  bool enabled = true;
  /// Always answer with server_no_context_takeover (each message compressed alone: worse
  /// ratio, no history carried between messages).
  bool server_no_context_takeover = false;
  /// Ask the client for client_no_context_takeover even if it did not offer it.
  bool request_client_no_context_takeover = false;
  /// Upper bound of our compressor's window (9..15): memory per connection is about
  /// 2^(bits+2) + 2^(mem_level+9) bytes while compressing.
  std::uint8_t server_max_window_bits = 15;
  /// Window asked of a client that offered client_max_window_bits (8..15; 15 = no request).
  std::uint8_t client_max_window_bits = 15;
  int level = 6;      ///< zlib compression level 1..9
  int mem_level = 8;  ///< zlib memLevel 1..9
  /// Messages shorter than this are sent uncompressed (RSV1 clear; RFC 7692 §6 allows it).
  std::size_t min_compress_size = 32;
};

/// The outcome of reading the client's Sec-WebSocket-Extensions fields.
struct extension_negotiation {
  bool malformed = false;                ///< the fields do not parse: fail the handshake with 400
  std::optional<deflate_params> params;  ///< set when permessage-deflate was accepted
  std::string response;  ///< the Sec-WebSocket-Extensions value to send back (empty: none)
};

/// Negotiates permessage-deflate from the values of every Sec-WebSocket-Extensions field of the
/// request, in order. Other extensions are ignored (never accepted).
extension_negotiation negotiate_deflate(std::span<const std::string_view> values,
                                        const deflate_config& cfg);

/// The Sec-WebSocket-Extensions response value for `p` ("permessage-deflate; ...").
std::string format_deflate_response(const deflate_params& p, bool include_client_max_window_bits);

/// Decompresses the messages of one direction (RFC 7692 §7.2.2).
class inflater {
 public:
  enum class status : std::uint8_t {
    ok,       ///< all input taken
    too_big,  ///< the output would exceed the limit: stopped there (close 1009)
    error,    ///< not valid DEFLATE data (close 1007), or zlib out of memory (1011)
  };

  /// `no_context_takeover`: start every message with an empty window.
  explicit inflater(bool no_context_takeover = false);
  ~inflater();
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;

  /// Decompresses the next payload bytes of the current message, appending to `out`, which
  /// never grows past `limit` + 1 bytes (past `limit` -> too_big). After too_big or error the
  /// message must be abandoned (the connection is failed).
  status feed(std::span<const std::byte> in, std::string& out, std::size_t limit);
  /// Ends the current message: inflates the 0x00 0x00 0xff 0xff tail the sender removed
  /// (§7.2.2), then resets the window if there is no context takeover.
  status finish(std::string& out, std::size_t limit);
  /// True after an out-of-memory failure (close 1011 rather than 1007).
  bool out_of_memory() const noexcept { return oom_; }

 private:
  status run(std::span<const std::byte> in, std::string& out, std::size_t limit);
  bool init();

  struct state;
  std::unique_ptr<state> z_;
  bool no_context_takeover_;
  bool stream_ended_ = false;  // a block with BFINAL was seen: ignore the rest of the message
  bool oom_ = false;
};

/// Compresses the messages of one direction (RFC 7692 §7.2.1).
class deflater {
 public:
  /// `window_bits` 9..15 (clamped), `level` 1..9, `mem_level` 1..9.
  explicit deflater(bool no_context_takeover = false, std::uint8_t window_bits = 15, int level = 6,
                    int mem_level = 8);
  ~deflater();
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  /// Appends the compressed payload of a whole message to `out` (the trailing 0x00 0x00 0xff
  /// 0xff removed; an empty message gives the single octet 0x00, §7.2.3.6). Returns false if
  /// zlib failed (out of memory).
  bool compress(std::span<const std::byte> in, std::string& out);
  bool compress(std::string_view in, std::string& out) {
    return compress(std::as_bytes(std::span(in)), out);
  }

 private:
  struct state;
  std::unique_ptr<state> z_;
  bool no_context_takeover_;
  int window_bits_;
  int level_;
  int mem_level_;
};

}  // namespace portico::ws
