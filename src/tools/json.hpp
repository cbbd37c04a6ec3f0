// A small JSON writer for the tools' --json output (compact, UTF-8 passed through).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::tools {

/// Builds one JSON text. The caller keeps the nesting right: key() then a value inside an
/// object, values alone inside an array; the writer inserts the commas.
class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t v);
  json_writer& value(std::uint64_t v);
  json_writer& value(int v) { return value(static_cast<std::int64_t>(v)); }
  json_writer& value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
  json_writer& value(double v);
  json_writer& value(bool v);
  json_writer& null();

  /// The text so far.
  const std::string& str() const noexcept { return out_; }

 private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

/// `s` as a quoted JSON string (control characters and invalid bytes escaped as \u00XX).
std::string json_quote(std::string_view s);

}  // namespace portico::tools
