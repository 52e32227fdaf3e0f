// libFuzzer target: the webhook's own JSON parser (parse_json_limited), differential against
// nlohmann's. Invariants: only InputError escapes; it accepts exactly what nlohmann accepts,
// except input nested past its depth limit; and what both accept gives the same tree, key order,
// duplicate-key rule and number types included (compared through dump()). The same parser into
// a JsonDoc (parse_json_doc, what reviews are read through) fails with the same error, and its
// document reads back as the same tree and writes the same compact text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "codec/errors.h"
#include "codec/json_doc.h"
#include "codec/json_parse.h"
#include "codec/json_text.h"
#include "fuzz_util.h"

namespace {

using sigv4::Json;
using sigv4::fuzz::check;

constexpr std::size_t kDepth = 64;

std::size_t depth_of(const Json& value) {
  std::size_t deepest = 0;
  if (value.is_structured()) {
    for (const auto& item : value) {
      deepest = std::max(deepest, depth_of(item));
    }
    return deepest + 1;
  }
  return 0;
}

sigv4::JsonLimits limits_for(std::string_view text) {
  sigv4::JsonLimits limits;
  limits.max_depth = kDepth;
  limits.max_string_bytes = text.size() + 1;
  return limits;
}

// The JsonDoc parse of `text` agrees with the tree parse (`tree`, or `error` when it failed).
void check_doc(std::string_view text, const std::optional<Json>& tree, const std::string& error) {
  std::optional<sigv4::JsonDoc> doc;
  std::string doc_error;
  try {
    doc = sigv4::parse_json_doc(text, limits_for(text), "fuzz");
  } catch (const sigv4::InputError& e) {
    doc_error = e.what();
  }
  check(doc.has_value() == tree.has_value() && doc_error == error,
        "parse_json_doc fails exactly as parse_json_limited does");
  if (doc && tree) {
    check(sigv4::to_json(doc->root()).dump() == tree->dump(), "the JsonDoc reads as the tree");
    std::string text_of_doc;
    sigv4::append_json_text(text_of_doc, doc->root());
    check(text_of_doc == sigv4::to_json_text(*tree), "the JsonDoc writes the tree's text");
  }
}

std::optional<Json> ours_of(std::string_view text, std::string& error) {
  error.clear();
  std::optional<Json> tree;
  try {
    tree = sigv4::parse_json_limited(text, limits_for(text), "fuzz");
  } catch (const sigv4::InputError& e) {
    error = e.what();
  }
  check_doc(text, tree, error);
  return tree;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  // nlohmann stops at a NUL byte as at the end of input; JSON has no place for a raw NUL, so
  // ours refuses the whole text, and the comparison goes on with what precedes the NUL.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    check(!ours_of(text, error), "parse_json_limited refuses a raw NUL byte");
    text = text.substr(0, nul);
  }
  std::optional<Json> ours = ours_of(text, error);
  std::optional<Json> theirs;
  try {
    theirs = Json::parse(text);
  } catch (const Json::exception&) {
  }
  if (ours && !theirs) {
    std::fprintf(stderr, "accepted: %s\n", ours->dump().c_str());
    check(false, "parse_json_limited accepts only what nlohmann accepts");
  }
  if (theirs && !ours) {
    std::fprintf(stderr, "refused (%s): %s\n", error.c_str(), theirs->dump().c_str());
    check(depth_of(*theirs) > kDepth, "parse_json_limited refuses only input past its limits");
  }
  if (ours && theirs && ours->dump() != theirs->dump()) {
    std::fprintf(stderr, "ours:   %s\ntheirs: %s\n", ours->dump().c_str(), theirs->dump().c_str());
    check(false, "both parsers give the same tree");
  }
  return 0;
}
