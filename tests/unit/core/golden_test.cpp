// Walks tests/testdata/<case>/{input.yaml,expected.yaml} (optional config.yaml): injects the input
// as `sigv4-injector inject` does and compares the parsed result with the expectation.
// UPDATE_GOLDEN=1 rewrites the expectations.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codec/manifests.h"
#include "core/inject.h"

using namespace sigv4;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> golden_cases() {
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(SIGV4_TESTDATA_DIR)) {
    if (entry.is_directory() && fs::exists(entry.path() / "input.yaml")) {
      cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

}  // namespace

TEST_CASE("golden manifests", "[golden]") {
  auto cases = golden_cases();
  REQUIRE(cases.size() >= 6);
  for (const auto& dir : cases) {
    DYNAMIC_SECTION(dir.filename().string()) {
      Config config = fs::exists(dir / "config.yaml") ? load_config(slurp(dir / "config.yaml"))
                                                      : default_config();
      auto docs = read_documents(slurp(dir / "input.yaml"), "input.yaml");
      inject_documents(docs, config, "input.yaml");
      if (std::getenv("UPDATE_GOLDEN") != nullptr) {
        std::ofstream(dir / "expected.yaml") << write_documents(docs, Format::kYaml);
      }
      auto expected = read_documents(slurp(dir / "expected.yaml"), "expected.yaml");
      REQUIRE(docs.size() == expected.size());
      for (std::size_t i = 0; i < docs.size(); ++i) {
        INFO("document " << i);
        CHECK(nlohmann::json::parse(docs[i].dump()) == nlohmann::json::parse(expected[i].dump()));
      }
      // Idempotent: injecting the result again changes nothing.
      auto again = docs;
      inject_documents(again, config, "expected.yaml");
      CHECK(again == docs);
    }
  }
}
