#include "admission.h"

#include "errors.h"
#include "pod.h"

namespace sigv4 {
namespace {

constexpr std::string_view kV1 = "admission.k8s.io/v1";
constexpr std::string_view kV1beta1 = "admission.k8s.io/v1beta1";

// One pass over the text, outside and inside strings, tracking nesting and string lengths, so
// hostile input is refused before the parser builds anything.
void prescan(std::string_view text, const JsonLimits& limits, std::string_view what) {
  std::size_t depth = 0;
  bool in_string = false;
  std::size_t string_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (i - string_start > limits.max_string_bytes) {
          throw InputError(std::string(what),
                           "a string at byte " + std::to_string(string_start) + " is longer than " +
                               std::to_string(limits.max_string_bytes) + " bytes");
        }
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth) {
        throw InputError(std::string(what), "JSON nested deeper than " +
                                                std::to_string(limits.max_depth) +
                                                " levels at byte " + std::to_string(i));
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  if (in_string && text.size() - string_start > limits.max_string_bytes) {
    throw InputError(std::string(what), "unterminated oversized string");
  }
}

const Json& require(const Json& obj, std::string_view key, std::string_view path,
                    Json::value_t type, const char* type_name) {
  const Json& value = field(obj, key);
  if (value.is_null()) {
    throw InputError(std::string(path), "missing");
  }
  if (value.type() != type) {
    throw InputError(std::string(path),
                     std::string("expected ") + type_name + ", got " + value.type_name());
  }
  return value;
}

// An optional string field: absent or null is "", another type is an error.
std::string optional_string(const Json& obj, std::string_view key, std::string_view path) {
  const Json& value = field(obj, key);
  if (value.is_null()) {
    return {};
  }
  if (!value.is_string()) {
    throw InputError(std::string(path), std::string("expected string, got ") + value.type_name());
  }
  return value.get<std::string>();
}

}  // namespace

Json parse_json_limited(std::string_view text, const JsonLimits& limits, std::string_view what) {
  prescan(text, limits, what);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    throw InputError(std::string(what), std::string("malformed JSON: ") + e.what());
  }
}

AdmissionRequest parse_admission_review(const Json& review) {
  if (!review.is_object()) {
    throw InputError("body",
                     std::string("expected an AdmissionReview object, got ") + review.type_name());
  }
  AdmissionRequest r;
  r.api_version = optional_string(review, "apiVersion", "apiVersion");
  if (r.api_version != kV1 && r.api_version != kV1beta1) {
    throw InputError(
        "apiVersion",
        "expected admission.k8s.io/v1 or admission.k8s.io/v1beta1, got \"" + r.api_version + "\"");
  }
  std::string kind = optional_string(review, "kind", "kind");
  if (kind != "AdmissionReview") {
    throw InputError("kind", "expected AdmissionReview, got \"" + kind + "\"");
  }
  const Json& request = require(review, "request", "request", Json::value_t::object, "object");
  r.uid = optional_string(request, "uid", "request.uid");
  if (r.uid.empty()) {
    throw InputError("request.uid", "missing");
  }
  const Json& kind_obj = field(request, "kind");
  if (!kind_obj.is_null() && !kind_obj.is_object()) {
    throw InputError("request.kind", std::string("expected object, got ") + kind_obj.type_name());
  }
  r.kind = optional_string(kind_obj, "kind", "request.kind.kind");
  r.operation = optional_string(request, "operation", "request.operation");
  r.namespace_name = optional_string(request, "namespace", "request.namespace");
  r.name = optional_string(request, "name", "request.name");
  const Json& dry_run = field(request, "dryRun");
  r.dry_run = dry_run.is_boolean() && dry_run.get<bool>();
  const Json& object = field(request, "object");
  if (!object.is_null()) {
    if (!object.is_object()) {
      throw InputError("request.object", std::string("expected object, got ") + object.type_name());
    }
    r.object = &object;
    const Json& metadata = field(object, "metadata");
    if (r.name.empty()) {
      r.name = string_field(metadata, "name");
    }
    r.generate_name = string_field(metadata, "generateName");
    if (r.namespace_name.empty()) {
      r.namespace_name = string_field(metadata, "namespace");
    }
  } else if (r.operation == "CREATE" && r.kind == "Pod") {
    throw InputError("request.object", "missing");
  }
  return r;
}

Json admission_response(const AdmissionRequest& request, const AdmissionAnswer& answer) {
  Json response = {{"uid", request.uid}, {"allowed", answer.allowed}};
  if (answer.patch.is_array() && !answer.patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = base64_encode(answer.patch.dump());
  }
  if (!answer.allowed) {
    response["status"] = {{"metadata", Json::object()},
                          {"status", "Failure"},
                          {"message", answer.message},
                          {"reason", answer.code == 400 ? "BadRequest" : "Forbidden"},
                          {"code", answer.code}};
  }
  if (!answer.warnings.empty()) {
    response["warnings"] = answer.warnings;
  }
  return Json{{"apiVersion", request.api_version},
              {"kind", "AdmissionReview"},
              {"response", std::move(response)}};
}

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16 |
             static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8 |
             static_cast<unsigned>(static_cast<unsigned char>(data[i + 2]));
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (i < data.size()) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) {
      n |= static_cast<unsigned>(static_cast<unsigned char>(data[i + 1])) << 8;
    }
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < data.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace sigv4
