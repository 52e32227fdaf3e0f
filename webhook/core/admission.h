#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "json_doc.h"

namespace sigv4 {

// Bounds applied to untrusted JSON while it is parsed (iteratively, so depth costs no stack):
// nesting deeper than `max_depth` and single strings longer than `max_string_bytes` are refused
// before anything deeper or longer is built.
struct JsonLimits {
  std::size_t max_depth = 100;
  std::size_t max_string_bytes = std::size_t{1} << 20;
};

// Which parts of a JSON document to build. A shape with `members` keeps only those keys of an
// object, each with the shape of its value; `items` is the shape of an array's elements; `all`
// keeps everything below. A value of another type than its shape expects is kept whole. What is
// not kept is still parsed as strictly (same errors, same limits), just never allocated.
struct JsonShape {
  struct Member {
    std::string_view key;
    const JsonShape* shape;
  };
  std::span<const Member> members = {};
  const JsonShape* items = nullptr;
  bool all = false;
};

// Parses untrusted JSON text within `limits` (json_parse.cpp), as strictly as Json::parse and
// into the same tree (duplicate keys: first position, last value), keeping what `keep` names
// (null: everything). Throws InputError (mapped to HTTP 400) for malformed JSON, too deep nesting
// or oversized strings; `what` names the document, the message the byte offset.
Json parse_json_limited(std::string_view text, const JsonLimits& limits,
                        std::string_view what = "request body", const JsonShape* keep = nullptr);

// The same parse into a JsonDoc (what a review is read through), which views `text`: the text
// must outlive the document.
JsonDoc parse_json_doc(std::string_view text, const JsonLimits& limits,
                       std::string_view what = "request body", const JsonShape* keep = nullptr);

// The fields of an AdmissionReview request the mutator needs.
struct AdmissionRequest {
  std::string api_version;  // admission.k8s.io/v1 or admission.k8s.io/v1beta1
  std::string uid;
  std::string kind;  // request.kind.kind, e.g. "Pod"
  std::string operation;
  std::string namespace_name;
  std::string name;           // request.name, else object.metadata.name
  std::string generate_name;  // object.metadata.generateName
  bool dry_run = false;
  const JsonNode* object = nullptr;  // points into the review it was parsed from
};

// Reads an AdmissionReview. Throws InputError naming the field when it is not an
// admission.k8s.io/v1 or v1beta1 AdmissionReview, lacks `request`, `request.uid`, or has fields
// of the wrong type.
AdmissionRequest parse_admission_review(const JsonNode& review);

// What the webhook answers.
struct AdmissionAnswer {
  bool allowed = true;
  std::string patch;         // JSON array of operations as text; empty for no patch
  std::string patch_base64;  // its base64 when the caller has it already; else computed
  std::vector<std::string> warnings;
  int code = 0;  // status code for denials (400)
  std::string message;
};

// The AdmissionReview response as compact JSON text (what the server sends): in the request's
// apiVersion, echoing its uid; the patch base64-encoded with patchType JSONPatch when non-empty.
std::string admission_response(const AdmissionRequest& request, const AdmissionAnswer& answer);

std::string base64_encode(std::string_view data);
// Appends the base64 of `data` to `out`.
void append_base64(std::string& out, std::string_view data);

// Text that recurs inside the patches of many reviews (the containers of one set of settings),
// with its base64 computed once for each of the three places a 3-byte group boundary can fall
// in it: encoded[k] is the base64 of text[k, k + 3 * floor((size - k) / 3)).
struct Base64Piece {
  std::string text;
  std::array<std::string, 3> encoded;
};
Base64Piece make_base64_piece(std::string text);

// Text written partly from Base64Pieces, which knows its base64 at the cost of encoding only
// what lies between the pieces (a patch is mostly its two containers' cached text).
class PieceText {
 public:
  std::string text;  // written directly, or through append()
  void append(const Base64Piece& piece);
  // Appends another PieceText, its pieces included.
  void append(const PieceText& other);
  // The base64 of `text`, equal to base64_encode(text). The pieces appended must still exist.
  std::string base64() const;

 private:
  struct Span {
    std::size_t offset;
    const Base64Piece* piece;
  };
  std::vector<Span> spans_;
};

}  // namespace sigv4
