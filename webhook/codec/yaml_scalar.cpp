#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "errors.h"
#include "yaml.h"

namespace sigv4::yaml {
namespace {

// Plain scalars resolve as kubectl's YAML library does (YAML 1.1 booleans and nulls).
constexpr std::array<std::string_view, 11> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                                    "True", "TRUE", "on",  "On",  "ON"};
constexpr std::array<std::string_view, 11> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                                     "False", "FALSE", "off", "Off", "OFF"};
constexpr std::array<std::string_view, 5> kNull = {"", "~", "null", "Null", "NULL"};

template <std::size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& words) {
  for (auto w : words) {
    if (s == w) {
      return true;
    }
  }
  return false;
}

bool is_int(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) {
    return false;
  }
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
  }
  return true;
}

bool is_float(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
    ++i;
    digits = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
      digits = true;
    }
  }
  if (!digits) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    std::size_t exp_start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
    }
    if (i == exp_start) {
      return false;
    }
  }
  return i == s.size();
}

// The magnitude of an unsigned integer in Go's base-0 syntax (0x/0X hex, 0o/0O or a leading 0
// octal, 0b/0B binary, or decimal) when it fits 64 bits: Go's strconv.ParseUint(s, 0, 64).
std::optional<unsigned long long> parse_go_uint(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  unsigned long long value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return value;
}

// Parses an integer as Go's strconv.ParseInt(s, 0, 64) does (which kubectl's YAML uses): an
// optional sign, then parse_go_uint's syntax.
std::optional<long long> parse_go_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const auto magnitude = parse_go_uint(s);
  if (!magnitude) {
    return std::nullopt;
  }
  const unsigned long long value = *magnitude;
  constexpr auto kMax = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (value > kMax + (negative ? 1 : 0)) {
    return std::nullopt;
  }
  if (negative) {
    return value == kMax + 1 ? std::numeric_limits<long long>::min()
                             : -static_cast<long long>(value);
  }
  return static_cast<long long>(value);
}

// Go's underscoreOK: underscores only between digits (or after a base prefix).
bool underscores_ok(std::string_view s) {
  char saw = '^';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      saw = '0';
    } else if (c == '_') {
      if (saw != '0') {
        return false;
      }
      saw = '_';
    } else {
      if (saw == '_') {
        return false;
      }
      saw = '!';
    }
  }
  return saw != '_';
}

// A float as kubectl ends up with it: its YAML is turned into JSON by Go, which prints a whole
// number below 1e21 without a fraction, read back as an integer when it fits.
Json go_float(double d) {
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::trunc(d) == d && std::fabs(d) < 1e21 && d >= -kTwo63 && d < kTwo63) {
    return static_cast<long long>(d);
  }
  return d;
}

bool digits_only(std::string_view s, std::size_t min, std::size_t max) {
  if (s.size() < min || s.size() > max) {
    return false;
  }
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
      return false;
    }
  }
  return true;
}

int number(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// hh:mm:ss with one or two digits each, and optional fractional seconds; returns the rest.
bool clock(std::string_view& s) {
  int parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    std::size_t n = 0;
    while (n < s.size() && n < 2 && std::isdigit(static_cast<unsigned char>(s[n])) != 0) {
      ++n;
    }
    if (n == 0) {
      return false;
    }
    parts[i] = number(s.substr(0, n));
    s.remove_prefix(n);
    if (i < 2) {
      if (s.empty() || s[0] != ':') {
        return false;
      }
      s.remove_prefix(1);
    }
  }
  if (s.size() >= 2 && (s[0] == '.' || s[0] == ',') &&
      std::isdigit(static_cast<unsigned char>(s[1])) != 0) {
    std::size_t n = 1;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n])) != 0) {
      ++n;
    }
    s.remove_prefix(n);
  }
  return parts[0] < 24 && parts[1] < 60 && parts[2] < 60;
}

}  // namespace

bool go_timestamp(std::string_view s) {
  // 2006-1-2, then T/t time and a zone (Z or ±hh:mm), or a space and a time without zone.
  const std::size_t d1 = s.find('-');
  if (d1 != 4 || !digits_only(s.substr(0, 4), 4, 4)) {
    return false;
  }
  const std::size_t d2 = s.find('-', 5);
  if (d2 == std::string_view::npos || !digits_only(s.substr(5, d2 - 5), 1, 2)) {
    return false;
  }
  std::size_t day_end = d2 + 1;
  while (day_end < s.size() && day_end < d2 + 3 &&
         std::isdigit(static_cast<unsigned char>(s[day_end])) != 0) {
    ++day_end;
  }
  const int year = number(s.substr(0, 4));
  const int month = number(s.substr(5, d2 - 5));
  const int day = number(s.substr(d2 + 1, day_end - d2 - 1));
  constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  if (day_end == d2 + 1 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return false;
  }
  std::string_view rest = s.substr(day_end);
  if (rest.empty()) {
    return true;
  }
  const char sep = rest[0];
  rest.remove_prefix(1);
  if (!clock(rest)) {
    return false;
  }
  if (sep == ' ') {
    return rest.empty();
  }
  if (sep != 'T' && sep != 't') {
    return false;
  }
  if (rest == "Z") {
    return true;
  }
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
         digits_only(rest.substr(1, 2), 2, 2) && digits_only(rest.substr(4, 2), 2, 2);
}

Scalar resolve_scalar(const std::string& s, bool timestamps) {
  if (one_of(s, kNull)) {
    return {ScalarKind::kNull, nullptr};
  }
  if (one_of(s, kTrue)) {
    return {ScalarKind::kBool, true};
  }
  if (one_of(s, kFalse)) {
    return {ScalarKind::kBool, false};
  }
  for (std::string_view inf : {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}) {
    if (s == inf) {
      return {ScalarKind::kFloat, std::numeric_limits<double>::infinity(),
              std::numeric_limits<double>::infinity()};
    }
  }
  for (std::string_view inf : {"-.inf", "-.Inf", "-.INF"}) {
    if (s == inf) {
      return {ScalarKind::kFloat, -std::numeric_limits<double>::infinity(),
              -std::numeric_limits<double>::infinity()};
    }
  }
  if (s == ".nan" || s == ".NaN" || s == ".NAN") {
    return {ScalarKind::kFloat, std::numeric_limits<double>::quiet_NaN(),
            std::numeric_limits<double>::quiet_NaN()};
  }
  if (s.empty()) {
    return {ScalarKind::kStr, s};
  }
  if (s[0] == '.') {
    // Go's ParseFloat on the text as written (underscores between digits only).
    if (underscores_ok(s)) {
      std::string plain;
      for (char c : s) {
        if (c != '_') {
          plain += c;
        }
      }
      if (is_float(plain)) {
        const double d = std::strtod(plain.c_str(), nullptr);
        if (std::isfinite(d)) {
          return {ScalarKind::kFloat, go_float(d), d};
        }
      }
    }
    return {ScalarKind::kStr, s};
  }
  if (!(std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '-' || s[0] == '+')) {
    return {ScalarKind::kStr, s};
  }
  if (timestamps && go_timestamp(s)) {
    return {ScalarKind::kTimestamp, s};
  }
  std::string plain;  // underscores are digit separators, as in kubectl's YAML
  for (char c : s) {
    if (c != '_') {
      plain += c;
    }
  }
  if (auto v = parse_go_int(plain)) {
    return {ScalarKind::kInt, *v};
  }
  if (auto u = parse_go_uint(plain)) {
    // Past int64: an unsigned number (a key kubectl refuses), read back from JSON as a float.
    return {ScalarKind::kUint, static_cast<double>(*u), static_cast<double>(*u)};
  }
  if (is_int(plain) || is_float(plain)) {
    // A float out of range is no float to Go: the text stays a string.
    const double d = std::strtod(plain.c_str(), nullptr);
    if (std::isfinite(d)) {
      return {ScalarKind::kFloat, go_float(d), d};
    }
  }
  return {ScalarKind::kStr, s};
}

Json resolve_plain(const std::string& s, const std::string& where) {
  Scalar r = resolve_scalar(s, true);
  if (r.value.is_number_float() && !std::isfinite(r.value.get<double>())) {
    throw InputError(where, "JSON cannot hold " + s);
  }
  return std::move(r.value);
}

}  // namespace sigv4::yaml
