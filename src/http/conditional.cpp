#include "http/conditional.hpp"
#include "http/syntax.hpp"

#include <array>
#include <chrono>

namespace portico::http {

namespace {

using syntax::is_ows;
using syntax::trim_ows;

constexpr std::array<std::string_view, 7> short_days = {"Mon", "Tue", "Wed", "Thu",
                                                        "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_days = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// A left-to-right reader over the date text; every step fails cleanly at the end.
class date_reader {
 public:
  explicit date_reader(std::string_view s) noexcept : s_(s) {}

  bool at_end() const noexcept { return i_ == s_.size(); }
  char peek(std::size_t ahead) const noexcept {
    return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0';
  }

  bool literal(std::string_view lit) noexcept {
    if (s_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }

  // Exactly n DIGITs.
  bool digits(std::size_t n, int& out) noexcept {
    if (s_.size() - i_ < n) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    out = v;
    return true;
  }

  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& index) noexcept {
    for (std::size_t k = 0; k < N; ++k) {
      if (literal(names[k])) {
        index = static_cast<int>(k);
        return true;
      }
    }
    return false;
  }

  // RFC 9110 §5.6.7: time-of-day = hour ":" minute ":" second (00:00:00 - 23:59:60).
  bool time_of_day(int& h, int& m, int& s) noexcept {
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, s) &&
           h <= 23 && m <= 59 && s <= 60;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::optional<std::int64_t> to_epoch(int year, int month, int day, int h, int m, int s) noexcept {
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;  // 31 Feb, 29 Feb of a common year, day 00, ...
  if (s == 60) s = 59;                 // a leap second: no distinct POSIX time
  std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  return days * 86400 + h * 3600 + m * 60 + s;
}

int year_of(std::int64_t t) noexcept {
  using namespace std::chrono;
  // Floor division so that times before 1970 land on the right day.
  std::int64_t d = t / 86400;
  if (t % 86400 < 0) --d;
  year_month_day ymd{sys_days{days{d}}};
  return static_cast<int>(ymd.year());
}

}  // namespace

std::optional<std::int64_t> parse_http_date(std::string_view value, std::int64_t now) noexcept {
  value = trim_ows(value);
  date_reader r(value);
  int wday = 0, day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  if (value.size() > 3 && value[3] == ',') {
    // IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
    // date1 = day SP month SP year  ; e.g., 02 Jun 1982
    if (!(r.one_of(short_days, wday) && r.literal(", ") && r.digits(2, day) && r.literal(" ") &&
          r.one_of(months, month) && r.literal(" ") && r.digits(4, year) && r.literal(" ") &&
          r.time_of_day(h, m, s) && r.literal(" GMT") && r.at_end())) {
      return std::nullopt;
    }
  } else if (value.size() > 3 && value[3] == ' ') {
    // asctime-date = day-name SP date3 SP time-of-day SP year
    // date3 = month SP ( 2DIGIT / ( SP DIGIT ) )  ; e.g., Jun  2
    if (!(r.one_of(short_days, wday) && r.literal(" ") && r.one_of(months, month) &&
          r.literal(" "))) {
      return std::nullopt;
    }
    bool day_ok = r.peek(0) == ' ' ? (r.literal(" ") && r.digits(1, day)) : r.digits(2, day);
    if (!(day_ok && r.literal(" ") && r.time_of_day(h, m, s) && r.literal(" ") &&
          r.digits(4, year) && r.at_end())) {
      return std::nullopt;
    }
  } else {
    // rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT
    // date2 = day "-" month "-" 2DIGIT  ; e.g., 02-Jun-82
    int yy = 0;
    if (!(r.one_of(long_days, wday) && r.literal(", ") && r.digits(2, day) && r.literal("-") &&
          r.one_of(months, month) && r.literal("-") && r.digits(2, yy) && r.literal(" ") &&
          r.time_of_day(h, m, s) && r.literal(" GMT") && r.at_end())) {
      return std::nullopt;
    }
    // RFC 9110 §5.6.7: a two-digit year that "appears to be more than 50 years in the future"
    // is the most recent past year with the same last two digits. Take the latest century
    // placement that is at most 50 years after the current year.
    int current = year_of(now);
    int base = current - current % 100;
    year = base + 100 + yy;
    while (year - current > 50)
      year -= 100;
  }
  return to_epoch(year, month + 1, day, h, m, s);
}

precondition_result evaluate_preconditions(const request_conditions& c, const resource_state& res,
                                           bool is_get_or_head, std::int64_t now) noexcept {
  // No precondition at all (most requests): nothing to parse.
  if (c.if_match.empty() && c.if_none_match.empty() && c.if_modified_since.empty() &&
      c.if_unmodified_since.empty())
    return precondition_result::proceed;
  std::optional<entity_tag> current;
  std::optional<std::int64_t> last_modified;
  if (res.exists) {
    current = parse_entity_tag(res.etag);  // empty or malformed: no tag to match
    last_modified = res.last_modified;
  }

  // Step 1. RFC 9110 §13.1.1: If-Match uses the strong comparison; "*" is true if there is a
  // current representation.
  auto if_match = match_entity_tag_list(c.if_match, current, tag_comparison::strong);
  if (if_match != tag_list_match::absent) {
    bool ok = if_match == tag_list_match::match || (if_match == tag_list_match::any && res.exists);
    if (!ok) return precondition_result::precondition_failed;
  } else if (!c.if_unmodified_since.empty()) {
    // Step 2. RFC 9110 §13.1.4: ignored if If-Match is present (above), if the value is not a
    // valid HTTP-date, or if there is no modification date.
    auto date = parse_http_date(c.if_unmodified_since, now);
    if (date && last_modified && *last_modified > *date) {
      return precondition_result::precondition_failed;
    }
  }

  // Step 3. RFC 9110 §13.1.2: If-None-Match uses the weak comparison; "*" is false (matches)
  // if there is a current representation.
  auto if_none_match = match_entity_tag_list(c.if_none_match, current, tag_comparison::weak);
  if (if_none_match != tag_list_match::absent) {
    bool matched = if_none_match == tag_list_match::match ||
                   (if_none_match == tag_list_match::any && res.exists);
    if (if_none_match == tag_list_match::invalid) {
      // Not in the RFC: fail closed for state-changing methods, open for reads.
      if (!is_get_or_head) return precondition_result::precondition_failed;
    } else if (matched) {
      return is_get_or_head ? precondition_result::not_modified
                            : precondition_result::precondition_failed;
    }
  } else if (is_get_or_head && !c.if_modified_since.empty()) {
    // Step 4. RFC 9110 §13.1.3: GET/HEAD only, ignored when If-None-Match is present (above)
    // or the value is not a valid HTTP-date; false ("not modified") when the representation's
    // last modification is earlier than or equal to the date.
    auto date = parse_http_date(c.if_modified_since, now);
    if (date && *date <= now && last_modified && *last_modified <= *date) {
      return precondition_result::not_modified;
    }
  }
  return precondition_result::proceed;
}

bool if_range_allows(std::string_view if_range, std::string_view etag,
                     std::optional<std::int64_t> last_modified, std::int64_t now) noexcept {
  if_range = trim_ows(if_range);
  if (if_range.empty()) return true;
  // RFC 9110 §13.1.5: If-Range = entity-tag / HTTP-date. An entity-tag starts with DQUOTE or
  // "W/"; no HTTP-date does.
  if (if_range.front() == '"' || if_range.starts_with("W/")) {
    auto presented = parse_entity_tag(if_range);
    auto current = parse_entity_tag(etag);
    // Strong comparison: a weak tag on either side never matches.
    return presented && current && strong_match(*presented, *current);
  }
  auto date = parse_http_date(if_range, now);
  if (!date || !last_modified) return false;
  // RFC 9110 §13.1.5: the date must be a strong validator (§8.8.2.2) and match Last-Modified
  // exactly (not "earlier than or equal to"). An origin server may treat Last-Modified as strong
  // when it knows the representation did not change twice within that second; once the second
  // is over, it cannot change again without getting a later Last-Modified.
  return *date == *last_modified && *last_modified < now;
}

}  // namespace portico::http
