// Kubernetes quantities held and compared exactly (core/quantity.h): the grammar, the exact
// value in units and billionths, CPU as whole millicores and memory as whole bytes, and what is
// refused rather than rounded.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "core/quantity.h"
#include "core/validate.h"

using namespace sigv4;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

}  // namespace

TEST_CASE("quantities parse exactly in units and billionths", "[quantity]") {
  struct Row {
    const char* text;
    int64_t units;
    int32_t nanos;
  };
  auto row = GENERATE(values<Row>({
      {"0", 0, 0},
      {"-0", 0, 0},
      {"0e1000", 0, 0},
      {"1", 1, 0},
      {"+1", 1, 0},
      {"5.", 5, 0},
      {".5", 0, 500000000},
      {"0.5", 0, 500000000},
      {"100m", 0, 100000000},
      {"1n", 0, 1},
      {"1u", 0, 1000},
      {"1k", 1000, 0},
      {"1M", 1000000, 0},
      {"1G", 1000000000, 0},
      {"1T", 1000000000000, 0},
      {"1P", 1000000000000000, 0},
      {"1E", 1000000000000000000, 0},
      {"1Ki", 1024, 0},
      {"64Mi", 67108864, 0},
      {"1.5Gi", 1610612736, 0},
      {"1Ti", int64_t{1} << 40, 0},
      {"1Pi", int64_t{1} << 50, 0},
      {"7Ei", int64_t{7} << 60, 0},
      {"0.5Ki", 512, 0},
      {"0.0009765625Ki", 1, 0},  // 2^-10 * 2^10, exactly
      {"1e3", 1000, 0},
      {"1E3", 1000, 0},
      {"1e+3", 1000, 0},
      {"1e-3", 0, 1000000},
      {"1.5e-3", 0, 1500000},
      {"1e-9", 0, 1},
      {"10e-10", 0, 1},
      {"1.000000000000000000000000000", 1, 0},  // trailing zeros are not precision
      {"000000000000000000000000000000000000000000000000001", 1, 0},
      {"9223372036854775807", kMax, 0},
      {"9223372036854775807.999999999", kMax, 999999999},
      {"9.223372036854775807E18", kMax, 0},
  }));
  INFO(row.text);
  std::string why;
  const std::optional<Quantity> q = parse_quantity(row.text, &why);
  REQUIRE(q);
  CHECK(why.empty());
  CHECK(q->units == row.units);
  CHECK(q->nanos == row.nanos);
}

TEST_CASE("quantities that are malformed or not exact are refused, saying why", "[quantity]") {
  struct Row {
    std::string text;
    const char* why;
  };
  auto row = GENERATE(values<Row>({
      {"", "expected a Kubernetes quantity"},
      {".", "expected a Kubernetes quantity"},
      {"+", "expected a Kubernetes quantity"},
      {"1.5.5", "expected a Kubernetes quantity"},
      {"1K", "expected a Kubernetes quantity"},
      {"1ki", "expected a Kubernetes quantity"},
      {"1mi", "expected a Kubernetes quantity"},
      {"Mi", "expected a Kubernetes quantity"},
      {"1 ", "expected a Kubernetes quantity"},
      {" 1", "expected a Kubernetes quantity"},
      {"1e", "expected a Kubernetes quantity"},
      {"1e+", "expected a Kubernetes quantity"},
      {"1e3.5", "expected a Kubernetes quantity"},
      {"e3", "expected a Kubernetes quantity"},
      {"0x10", "expected a Kubernetes quantity"},
      {"1e1001", "expected a Kubernetes quantity"},
      {"1Ki ", "expected a Kubernetes quantity"},
      {std::string("1\0m", 3), "expected a Kubernetes quantity"},
      {std::string("1m\0", 3), "expected a Kubernetes quantity"},
      {"-1", "must not be negative"},
      {"-0.5Gi", "must not be negative"},
      {"1" + std::string(64, '0'), "longer than 64 characters"},
      {"12345678901234567890123456789012345678901", "more than 38 significant digits"},
      {"0.0000000001", "more precise than 1n"},
      {"1e-10", "more precise than 1n"},
      {"1.0000000000000001", "more precise than 1n"},
      {"1e-1000", "more precise than 1n"},
      {"0.1n", "more precise than 1n"},
      {"9223372036854775808", "too large"},
      {"9223372036854775807.9999999991", "more precise than 1n"},
      {"8Ei", "too large"},
      {"1e19", "too large"},
      {"1e1000", "too large"},
      {"10E", "too large"},
  }));
  INFO(row.text);
  std::string why;
  CHECK_FALSE(parse_quantity(row.text, &why));
  CHECK(why.find(row.why) != std::string::npos);
  CHECK_FALSE(parse_quantity(row.text));  // `why` is optional
}

TEST_CASE("CPU is whole millicores and memory whole bytes, never rounded", "[quantity]") {
  using K = ResourceKind;
  struct Row {
    const char* text;
    K kind;
    std::optional<int64_t> amount;
    const char* why;
  };
  auto row = GENERATE(values<Row>({
      {"100m", K::kCpu, 100, ""},
      {"1", K::kCpu, 1000, ""},
      {"0.5", K::kCpu, 500, ""},
      {"2e-3", K::kCpu, 2, ""},
      {"1000000n", K::kCpu, 1, ""},
      {"9223372036854775", K::kCpu, 9223372036854775000, ""},
      {"1.0000000000000001", K::kCpu, std::nullopt, "more precise than 1n"},
      {"1.0001", K::kCpu, std::nullopt, "whole millicores"},
      {"1500u", K::kCpu, std::nullopt, "whole millicores"},
      {"1.5m", K::kCpu, std::nullopt, "whole millicores"},
      {"9223372036854776", K::kCpu, std::nullopt, "too large"},
      {"64Mi", K::kMemory, 67108864, ""},
      {"1G", K::kMemory, 1000000000, ""},
      {"0.5Ki", K::kMemory, 512, ""},
      {"2000m", K::kMemory, 2, ""},
      {"7Ei", K::kMemory, int64_t{7} << 60, ""},
      {"9223372036854775807", K::kMemory, kMax, ""},
      {"1.5", K::kMemory, std::nullopt, "whole bytes"},
      {"100m", K::kMemory, std::nullopt, "whole bytes"},
      {"1e-3", K::kMemory, std::nullopt, "whole bytes"},
      {"8Ei", K::kMemory, std::nullopt, "too large"},
      {"lots", K::kMemory, std::nullopt, "expected a Kubernetes quantity"},
  }));
  INFO(row.text);
  std::string why;
  CHECK(parse_resource(row.text, row.kind, &why) == row.amount);
  CHECK(why.find(row.why) != std::string::npos);
}

TEST_CASE("requests are compared with limits exactly", "[quantity]") {
  struct Row {
    const char* request;
    const char* limit;
    bool within;
  };
  auto row = GENERATE(values<Row>({
      {"1000m", "1", true},
      {"1001m", "1", false},
      {"1000000001n", "1", false},  // what the apiserver makes of 1.0000000000000001
      {"999999999n", "1", true},
      {"1G", "1Gi", true},
      {"1Gi", "1G", false},
      {"1024", "1Ki", true},
      {"1025", "1Ki", false},
      {"0.5", "500m", true},
      {"1e3", "1k", true},
      // Equal as doubles (both round to 2^63), different as quantities.
      {"9223372036854775807", "9223372036854775806", false},
      {"9223372036854775806", "9223372036854775807", true},
      {"9223372036854775807.000000001", "9223372036854775807", false},
      {"7Ei", "8070450532247928832", true},
      {"8070450532247928833", "7Ei", false},
      {"", "1", true},  // either unset: nothing to compare
      {"2", "", true},
  }));
  INFO(row.request << " <= " << row.limit);
  const std::string why = check_request_within_limit(row.request, row.limit);
  CHECK(why.empty() == row.within);
  if (!row.within) {
    CHECK(why == std::string("request ") + row.request + " exceeds limit " + row.limit);
  }
}
