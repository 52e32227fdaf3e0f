// libFuzzer target: the manifest reader (YAML and JSON) and the writer.
// Invariants: only InputError escapes read_documents and inject_documents; whatever it reads,
// write_documents writes in both formats without throwing, and reading that output gives the same
// documents back (a JSON stream of several documents comes back as one List holding them).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "codec/errors.h"
#include "codec/manifests.h"
#include "core/config.h"
#include "core/inject.h"
#include "fuzz_util.h"

namespace {

using sigv4::Format;
using sigv4::Json;
using sigv4::fuzz::check;

void round_trip(const std::vector<Json>& docs, Format format) {
  std::string text = sigv4::write_documents(docs, format);
  std::vector<Json> back;
  try {
    back = sigv4::read_documents(text, "round trip");
  } catch (const sigv4::InputError& e) {
    std::fprintf(stderr, "written text does not read back: %s\n---\n%s\n", e.what(), text.c_str());
    check(false, "write -> read");
  }
  std::vector<Json> expected = docs;
  if (format == Format::kJson && docs.size() != 1) {
    // One List; the items of lists among the documents are lifted into it (named by their list).
    Json items = Json::array();
    for (const auto& d : docs) {
      if (!sigv4::is_list(d) || !(d["items"].is_array() || d["items"].is_null())) {
        items.push_back(d);
        continue;
      }
      const std::string kind = d["kind"].get<std::string>();
      for (const auto& item : d["items"].is_array() ? d["items"] : Json::array()) {
        items.push_back(item);
        if (item.is_object() && !item.contains("kind") && !item.contains("apiVersion")) {
          items.back()["kind"] = kind.substr(0, kind.size() - 4);
          items.back()["apiVersion"] = d.contains("apiVersion") ? d["apiVersion"] : Json("");
        }
      }
    }
    expected = {Json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}};
  }
  if (back != expected) {
    std::fprintf(stderr, "round trip changed the documents\nwritten:\n%s\n", text.c_str());
    for (const auto& d : expected) {
      std::fprintf(stderr, "expected: %s\n",
                   d.dump(-1, ' ', true, Json::error_handler_t::replace).c_str());
    }
    for (const auto& d : back) {
      std::fprintf(stderr, "read back: %s\n",
                   d.dump(-1, ' ', true, Json::error_handler_t::replace).c_str());
    }
    check(false, "write -> read gives the same documents");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Json> docs;
  try {
    docs = sigv4::read_documents(input, "fuzz");
  } catch (const sigv4::InputError&) {
    return 0;
  }
  // Injection checks each pod (template) first: only InputError may escape it.
  std::vector<Json> injected = docs;
  try {
    (void)sigv4::inject_documents(injected, sigv4::default_config(), "fuzz");
  } catch (const sigv4::InputError&) {
  }
  round_trip(docs, Format::kYaml);
  round_trip(docs, Format::kJson);
  return 0;
}
