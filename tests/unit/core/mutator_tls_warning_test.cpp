// Port 443 and the plain-HTTP proxy (mutator.cpp, captures_tls; SPEC 4a "TLS is never
// captured"): the default excludes 443, but an exclude-ports list replaces the default, so a pod
// whose settings capture 443 again is warned that its https:// calls to Lattice will break.
#include <catch2/catch.hpp>

#include <string>

#include "core/config.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::admit;

TEST_CASE("a pod whose settings capture port 443 gets a warning", "[mutator][tls]") {
  struct Row {
    const char* name;
    const char* exclude;  // sigv4-injector.io/exclude-ports, "" for none
    const char* include;  // sigv4-injector.io/include-ports, "" for none
    bool warned;
  };
  // | exclude-ports    | include-ports | 443 captured | warning |
  const Row rows[] = {
      {"defaults (443 excluded)", "", "", false},
      {"exclude-ports without 443", "22", "", true},
      {"exclude-ports with 443", "22,443", "", false},
      {"include-ports without 443", "22", "80", false},
      {"include-ports with 443", "22", "80,443", true},
      {"include-ports with 443 but 443 excluded", "443", "443", false},
  };
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.name) {
      Json pod = test::make_pod();
      Json annotations = Json::object();
      if (*row.exclude != '\0') {
        annotations["sigv4-injector.io/exclude-ports"] = row.exclude;
      }
      if (*row.include != '\0') {
        annotations["sigv4-injector.io/include-ports"] = row.include;
      }
      pod["metadata"]["annotations"] = annotations;
      const test::Admitted a = admit(pod, default_config());
      REQUIRE(a.mutation.decision.inject);
      const bool warned = std::any_of(
          a.mutation.warnings.begin(), a.mutation.warnings.end(), [](const std::string& w) {
            return w.find("port 443 is captured") != std::string::npos &&
                   w.find("sigv4-injector.io/exclude-ports") != std::string::npos;
          });
      CHECK(warned == row.warned);
    }
  }
}
