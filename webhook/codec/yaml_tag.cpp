// How kubectl reads a tagged scalar (yaml-cpp gives the tag, go-yaml's rules decide), and how
// sigs.k8s.io/yaml turns a scalar key into a JSON key.

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "base64.h"
#include "errors.h"
#include "utf8.h"
#include "yaml.h"

namespace sigv4::yaml {
namespace {

constexpr std::string_view kYamlTag = "tag:yaml.org,2002:";

std::string_view kind_tag(ScalarKind kind) {
  switch (kind) {
    case ScalarKind::kNull:
      return "!!null";
    case ScalarKind::kBool:
      return "!!bool";
    case ScalarKind::kInt:
    case ScalarKind::kUint:
      return "!!int";
    case ScalarKind::kFloat:
      return "!!float";
    case ScalarKind::kTimestamp:
      return "!!timestamp";
    default:
      return "!!str";
  }
}

// A !!binary scalar as kubectl reads it: base64 (line breaks ignored, padding required), and
// the bytes as a JSON string, where Go writes U+FFFD for each byte that is not valid UTF-8.
std::string decode_binary(const std::string& text, const std::string& where) {
  std::string chars;
  for (char c : text) {
    if (c != '\n' && c != '\r') {
      chars += c;
    }
  }
  const std::optional<std::string> bytes = base64_decode(chars);
  if (!bytes) {
    throw InputError(where, "!!binary value contains invalid base64 data");
  }
  return replace_invalid_utf8(*bytes);
}

}  // namespace

Scalar tagged_scalar(const std::string& tag, const std::string& text, const std::string& where) {
  if (tag == "?") {
    return resolve_scalar(text, true);
  }
  if (tag.rfind(kYamlTag, 0) != 0) {
    return {ScalarKind::kStr, text};
  }
  const std::string_view name = std::string_view(tag).substr(kYamlTag.size());
  if (name == "binary") {
    return {ScalarKind::kStr, decode_binary(text, where)};
  }
  ScalarKind want = ScalarKind::kStr;
  if (name == "int") {
    want = ScalarKind::kInt;
  } else if (name == "float") {
    want = ScalarKind::kFloat;
  } else if (name == "bool") {
    want = ScalarKind::kBool;
  } else if (name == "null") {
    want = ScalarKind::kNull;
  } else if (name == "timestamp") {
    want = ScalarKind::kTimestamp;
  } else {
    return {ScalarKind::kStr,
            text};  // !!str, and tags go-yaml does not resolve (!!map on a scalar)
  }
  Scalar r = resolve_scalar(text, want == ScalarKind::kTimestamp);
  if (want == ScalarKind::kFloat && r.kind == ScalarKind::kInt) {
    r.number = r.value.get<double>();  // go-yaml makes the int a float64
  }
  const bool is_int = r.kind == ScalarKind::kInt || r.kind == ScalarKind::kUint;
  if (r.kind != want && !(want == ScalarKind::kInt && is_int) &&
      !(want == ScalarKind::kFloat && is_int)) {
    throw InputError(where, "cannot decode " + std::string(kind_tag(r.kind)) + " `" + text +
                                "` as a !!" + std::string(name));
  }
  return r;
}

std::string go_float32_key(double d) {
  if (std::isnan(d)) {
    return ".nan";
  }
  if (std::fabs(d) >= 3.4028235677973366e38) {  // rounds to infinity as a float32
    return d > 0 ? ".inf" : "-.inf";
  }
  char buf[64];
  const auto result =
      std::to_chars(buf, buf + sizeof buf, static_cast<float>(d), std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(result.ptr - buf));
  std::string out;
  if (sci[0] == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exp = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (exp_text[0] == '+') {
    exp_text.remove_prefix(1);
  }
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  const auto nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char tail[16];
    std::snprintf(tail, sizeof tail, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    return out + tail;
  }
  const int dp = exp + 1;  // digits before the point
  if (dp > 0) {
    for (int i = 0; i < dp; ++i) {
      out += i < nd ? digits[static_cast<std::size_t>(i)] : '0';
    }
  } else {
    out += '0';
  }
  if (nd > dp) {
    out += '.';
    for (int i = dp; i < nd; ++i) {
      out += i < 0 ? '0' : digits[static_cast<std::size_t>(i)];
    }
  }
  return out;
}

bool looks_converted(const std::string& k) {
  if (k == "true" || k == "false" || k == ".inf" || k == "-.inf" || k == ".nan") {
    return true;
  }
  return !k.empty() && (std::isdigit(static_cast<unsigned char>(k[0])) != 0 || k[0] == '-') &&
         k.find_first_not_of("0123456789.e+-") == std::string::npos;
}

}  // namespace sigv4::yaml
