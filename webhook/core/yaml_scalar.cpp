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

// Parses an integer as Go's strconv.ParseInt(s, 0, 64) does (which kubectl's YAML uses): an
// optional sign, then 0x/0X hex, 0o/0O or a leading 0 octal, 0b/0B binary, or decimal.
std::optional<long long> parse_go_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
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

}  // namespace

Json resolve_plain(const std::string& s, const std::string& where) {
  if (one_of(s, kNull)) {
    return nullptr;
  }
  if (one_of(s, kTrue)) {
    return true;
  }
  if (one_of(s, kFalse)) {
    return false;
  }
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '-' ||
                     s[0] == '+' || s[0] == '.')) {
    return s;
  }
  std::string plain;  // underscores are digit separators, as in kubectl's YAML
  for (char c : s) {
    if (c != '_') {
      plain += c;
    }
  }
  if (auto v = parse_go_int(plain)) {
    return *v;
  }
  if (is_int(plain) || is_float(plain)) {
    double d = std::strtod(plain.c_str(), nullptr);
    if (!std::isfinite(d)) {
      throw InputError(where, "number out of range: " + s);
    }
    return d;
  }
  if (s == ".inf" || s == "-.inf" || s == "+.inf" || s == ".nan" || s == ".NaN" || s == ".Inf" ||
      s == ".INF" || s == "-.Inf" || s == "-.INF" || s == ".NAN") {
    throw InputError(where, "JSON cannot hold " + s);
  }
  return s;
}

}  // namespace sigv4::yaml
