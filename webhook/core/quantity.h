#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sigv4 {

// A non-negative Kubernetes quantity held exactly: `units` whole base units (cores, bytes) and
// `nanos` billionths of one. Compared exactly, never through floating point.
struct Quantity {
  int64_t units = 0;
  int32_t nanos = 0;  // 0..999'999'999

  bool positive() const { return units > 0 || nanos > 0; }
  friend auto operator<=>(const Quantity&, const Quantity&) = default;
};

// A Kubernetes quantity in its grammar: an optional sign, digits with an optional fraction
// ("1", "1.5", ".5", "5."), then a decimal SI suffix (n u m "" k M G T P E), a binary one
// (Ki Mi Gi Ti Pi Ei) or a decimal exponent (e3, E-2, e+6); at most 64 characters. Returns it
// exactly, or nullopt (with `why` set when given) when malformed, negative, finer than 1n
// (Kubernetes would round it) or above 2^63-1 units.
std::optional<Quantity> parse_quantity(std::string_view text, std::string* why = nullptr);

enum class ResourceKind { kCpu, kMemory };

// A CPU quantity as whole millicores, or a memory quantity as whole bytes: what the kubelet
// uses. nullopt (with `why` set when given) when `text` is not a quantity or not a whole number
// of those units ("1.0000000000000001" CPU, "0.5" bytes): refused, never rounded.
std::optional<int64_t> parse_resource(std::string_view text, ResourceKind kind,
                                      std::string* why = nullptr);

}  // namespace sigv4
