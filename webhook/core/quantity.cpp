#include "quantity.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

namespace sigv4 {
namespace {

// Quantities are computed in billionths of a unit, exactly, in 128 bits: at most 2^63-1 units
// are held (an int64 of bytes, as the kubelet counts them), and 2^63 * 10^9 < 2^93.
__extension__ typedef unsigned __int128 U128;  // NOLINT(modernize-use-using): __extension__
constexpr U128 kNanosPerUnit = 1'000'000'000;
constexpr U128 kMaxNanos =
    static_cast<U128>(std::numeric_limits<int64_t>::max()) * kNanosPerUnit + (kNanosPerUnit - 1);
constexpr std::string_view kNotAQuantity =
    "expected a Kubernetes quantity such as 100m, 0.5, 64Mi or 1e3";
constexpr std::string_view kFiner =
    "more precise than 1n (a billionth), which Kubernetes would round";
constexpr std::string_view kTooLarge = "too large (at most 2^63-1 units)";

std::size_t digits_end(std::string_view text, std::size_t from) {
  while (from < text.size() && text[from] >= '0' && text[from] <= '9') {
    ++from;
  }
  return from;
}

// A suffix multiplies by 10^exp10 * 2^exp2.
struct Suffix {
  int exp10 = 0;
  int exp2 = 0;
};

std::optional<Suffix> parse_suffix(std::string_view text) {
  static constexpr std::pair<std::string_view, Suffix> kSuffixes[] = {
      {"", {0, 0}},    {"n", {-9, 0}},  {"u", {-6, 0}},  {"m", {-3, 0}},
      {"k", {3, 0}},   {"M", {6, 0}},   {"G", {9, 0}},   {"T", {12, 0}},
      {"P", {15, 0}},  {"E", {18, 0}},  {"Ki", {0, 10}}, {"Mi", {0, 20}},
      {"Gi", {0, 30}}, {"Ti", {0, 40}}, {"Pi", {0, 50}}, {"Ei", {0, 60}},
  };
  for (const auto& [name, suffix] : kSuffixes) {
    if (text == name) {
      return suffix;
    }
  }
  if (text.size() < 2 || (text[0] != 'e' && text[0] != 'E')) {
    return std::nullopt;
  }
  std::string_view exponent = text.substr(1);
  const bool negative = exponent[0] == '-';
  if (exponent[0] == '+' || exponent[0] == '-') {
    exponent.remove_prefix(1);
  }
  long long value = 0;
  if (exponent.empty() || digits_end(exponent, 0) != exponent.size() ||
      std::from_chars(exponent.data(), exponent.data() + exponent.size(), value).ec !=
          std::errc() ||
      value > 1000) {
    return std::nullopt;
  }
  return Suffix{static_cast<int>(negative ? -value : value), 0};
}

U128 power(U128 base, int exponent) {
  U128 out = 1;
  for (int i = 0; i < exponent; ++i) {
    out *= base;
  }
  return out;
}

// a *= b unless that exceeds kMaxNanos.
bool multiply(U128& a, U128 b) {
  if (b != 0 && a > kMaxNanos / b) {
    return false;
  }
  a *= b;
  return true;
}

// Sets `n` to digits * 10^exp10 * 2^exp2, a whole number of nanos; returns why it cannot (empty
// when it can). `digits` has 1-38 digits, no leading or trailing zero.
std::string_view exact_nanos(const std::string& digits, int exp10, int exp2, U128& n) {
  n = 0;
  for (char c : digits) {
    n = n * 10 + static_cast<U128>(c - '0');
  }
  if (exp10 >= 0) {
    const bool fits = exp10 <= 38 && multiply(n, power(10, exp10)) && multiply(n, U128{1} << exp2);
    return fits ? std::string_view() : kTooLarge;
  }
  // Dividing by 10^k = 5^k * 2^k is exact only when 5^k divides the digits (5^55 exceeds any
  // 38-digit number) and the twos of the binary suffix, with those of the digits, cover 2^k.
  const int k = -exp10;
  if (k > 54 || n % power(5, k) != 0) {
    return kFiner;
  }
  n /= power(5, k);
  if (exp2 >= k) {
    return multiply(n, U128{1} << (exp2 - k)) ? std::string_view() : kTooLarge;
  }
  const int shift = k - exp2;
  if (shift >= 127 || (n & ((U128{1} << shift) - 1)) != 0) {
    return kFiner;
  }
  n >>= shift;
  return {};
}

}  // namespace

std::optional<Quantity> parse_quantity(std::string_view text, std::string* why) {
  const auto fail = [why](std::string_view reason) -> std::optional<Quantity> {
    if (why != nullptr) {
      *why = reason;
    }
    return std::nullopt;
  };
  if (text.size() > 64) {
    return fail("longer than 64 characters");
  }
  std::size_t i = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    ++i;
  }
  const std::size_t whole_end = digits_end(text, i);
  const std::string_view whole = text.substr(i, whole_end - i);
  std::string_view fraction;
  std::size_t end = whole_end;
  if (end < text.size() && text[end] == '.') {
    const std::size_t fraction_end = digits_end(text, end + 1);
    fraction = text.substr(end + 1, fraction_end - end - 1);
    end = fraction_end;
  }
  const std::optional<Suffix> suffix = parse_suffix(text.substr(end));
  if ((whole.empty() && fraction.empty()) || !suffix) {
    return fail(kNotAQuantity);
  }
  // The value is digits * 10^exp10 * 2^exp2, digits without leading or trailing zeros.
  std::string digits = std::string(whole) + std::string(fraction);
  int exp10 = suffix->exp10 - static_cast<int>(fraction.size());
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
  if (digits.empty()) {
    return Quantity{};
  }
  if (negative) {
    return fail("must not be negative");
  }
  while (digits.back() == '0') {
    digits.pop_back();
    ++exp10;
  }
  if (digits.size() > 38) {
    return fail("more than 38 significant digits");
  }
  U128 nanos = 0;
  const std::string_view error = exact_nanos(digits, exp10 + 9, suffix->exp2, nanos);
  if (!error.empty()) {
    return fail(error);
  }
  return Quantity{static_cast<int64_t>(nanos / kNanosPerUnit),
                  static_cast<int32_t>(nanos % kNanosPerUnit)};
}

std::optional<int64_t> parse_resource(std::string_view text, ResourceKind kind, std::string* why) {
  const std::optional<Quantity> q = parse_quantity(text, why);
  if (!q) {
    return std::nullopt;
  }
  const auto fail = [why](std::string_view reason) -> std::optional<int64_t> {
    if (why != nullptr) {
      *why = reason;
    }
    return std::nullopt;
  };
  if (kind == ResourceKind::kMemory) {
    if (q->nanos != 0) {
      return fail("memory is counted in whole bytes: not a whole number of bytes");
    }
    return q->units;
  }
  if (q->nanos % 1'000'000 != 0) {
    return fail("CPU is counted in whole millicores: finer than 1m (0.001)");
  }
  if (q->units > std::numeric_limits<int64_t>::max() / 1000) {
    return fail("too large (at most 2^63-1 millicores)");
  }
  return q->units * 1000 + q->nanos / 1'000'000;
}

}  // namespace sigv4
