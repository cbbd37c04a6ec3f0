#include "http/date.hpp"

#include <cstring>

namespace portico::http {

void format_imf_fixdate(std::time_t t, char (&out)[29]) noexcept {
  static constexpr char days[] = "SunMonTueWedThuFriSat";
  static constexpr char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  char* p = out;
  std::memcpy(p, days + 3 * tm.tm_wday, 3);
  p[3] = ',';
  p[4] = ' ';
  two(p + 5, tm.tm_mday);
  p[7] = ' ';
  std::memcpy(p + 8, months + 3 * tm.tm_mon, 3);
  p[11] = ' ';
  int year = tm.tm_year + 1900;
  two(p + 12, year / 100);
  two(p + 14, year % 100);
  p[16] = ' ';
  two(p + 17, tm.tm_hour);
  p[19] = ':';
  two(p + 20, tm.tm_min);
  p[22] = ':';
  two(p + 23, tm.tm_sec);
  std::memcpy(p + 25, " GMT", 4);
}

}  // namespace portico::http
