#include "manifests.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "admission.h"
#include "errors.h"

namespace sigv4 {
namespace {

// Bounds that keep hostile YAML (alias bombs, deep nesting) from exhausting memory or stack.
constexpr std::size_t kMaxNodes = 2'000'000;
constexpr std::size_t kMaxDepth = 512;

// Plain scalars resolve as kubectl's YAML library does (YAML 1.1 booleans and nulls).
constexpr std::array<std::string_view, 11> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                                    "True", "TRUE", "on",  "On",  "ON"};
constexpr std::array<std::string_view, 11> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                                     "False", "FALSE", "off", "Off", "OFF"};
constexpr std::array<std::string_view, 5> kNull = {"", "~", "null", "Null", "NULL"};

template <std::size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& words) {
  for (auto w : words) {
    if (s == w) {
      return true;
    }
  }
  return false;
}

bool is_int(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i >= s.size()) {
    return false;
  }
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
  }
  return true;
}

bool is_float(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
    ++i;
    digits = true;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
      digits = true;
    }
  }
  if (!digits) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    std::size_t exp_start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
    }
    if (i == exp_start) {
      return false;
    }
  }
  return i == s.size();
}

// Parses an integer as Go's strconv.ParseInt(s, 0, 64) does (which kubectl's YAML uses): an
// optional sign, then 0x/0X hex, 0o/0O or a leading 0 octal, 0b/0B binary, or decimal.
std::optional<long long> parse_go_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  unsigned long long value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  constexpr auto kMax = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (value > kMax + (negative ? 1 : 0)) {
    return std::nullopt;
  }
  if (negative) {
    return value == kMax + 1 ? std::numeric_limits<long long>::min()
                             : -static_cast<long long>(value);
  }
  return static_cast<long long>(value);
}

// The JSON value of a plain (unquoted, untagged) scalar.
Json resolve_plain(const std::string& s, const std::string& where) {
  if (one_of(s, kNull)) {
    return nullptr;
  }
  if (one_of(s, kTrue)) {
    return true;
  }
  if (one_of(s, kFalse)) {
    return false;
  }
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '-' ||
                     s[0] == '+' || s[0] == '.')) {
    return s;
  }
  std::string plain;  // underscores are digit separators, as in kubectl's YAML
  for (char c : s) {
    if (c != '_') {
      plain += c;
    }
  }
  if (auto v = parse_go_int(plain)) {
    return *v;
  }
  if (is_int(plain) || is_float(plain)) {
    double d = std::strtod(plain.c_str(), nullptr);
    if (!std::isfinite(d)) {
      throw InputError(where, "number out of range: " + s);
    }
    return d;
  }
  if (s == ".inf" || s == "-.inf" || s == "+.inf" || s == ".nan" || s == ".NaN" || s == ".Inf" ||
      s == ".INF" || s == "-.Inf" || s == "-.INF" || s == ".NAN") {
    throw InputError(where, "JSON cannot hold " + s);
  }
  return s;
}

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
// JSON strings must be, and kubectl's YAML reader refuses anything else too.
bool valid_utf8(std::string_view s) {
  constexpr std::array<unsigned long, 4> kMin = {0, 0x80, 0x800, 0x10000};
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    if (c >= 0xf0 && c <= 0xf7) {
      extra = 3;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
    } else if (c >= 0xc0 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0x80) {
      return false;
    }
    if (s.size() - i <= extra) {
      return false;
    }
    unsigned long cp = extra == 0 ? c : c & (0x3fu >> extra);
    for (std::size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xc0) != 0x80) {
        return false;
      }
      cp = cp << 6 | (next & 0x3fu);
    }
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

struct Converter {
  std::string source;
  std::size_t nodes = 0;

  Json convert(const YAML::Node& node, const std::string& path, std::size_t depth) {
    if (++nodes > kMaxNodes) {
      throw InputError(source,
                       "more than " + std::to_string(kMaxNodes) + " values (alias expansion?)");
    }
    if (depth > kMaxDepth) {
      throw InputError(source + ": " + path, "nested deeper than " + std::to_string(kMaxDepth));
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node, path);
      case YAML::NodeType::Sequence: {
        Json out = Json::array();
        for (std::size_t i = 0; i < node.size(); ++i) {
          out.push_back(convert(node[i], path + "[" + std::to_string(i) + "]", depth + 1));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        Json out = Json::object();
        for (const auto& item : node) {
          if (!item.first.IsScalar()) {
            throw InputError(source + ": " + path, "mapping keys must be strings");
          }
          const std::string& key = item.first.Scalar();
          if (!valid_utf8(key)) {
            throw InputError(source + ": " + path, "a key is not valid UTF-8");
          }
          out[key] = convert(item.second, path.empty() ? key : path + "." + key, depth + 1);
        }
        return out;
      }
    }
    return nullptr;
  }

  Json scalar(const YAML::Node& node, const std::string& path) const {
    const std::string& tag = node.Tag();
    const std::string& text = node.Scalar();
    if (!valid_utf8(text)) {
      throw InputError(source + ": " + path, "not valid UTF-8");
    }
    if (tag == "!" || tag == "tag:yaml.org,2002:str" || tag == "tag:yaml.org,2002:binary") {
      return text;
    }
    return resolve_plain(text, source + ": " + path);
  }
};

bool needs_quotes(const std::string& s) {
  Json resolved;
  try {
    resolved = resolve_plain(s, "");
  } catch (const InputError&) {
    return true;
  }
  if (!resolved.is_string() || s.front() == ' ' || s.back() == ' ' || s.back() == ':') {
    return true;
  }
  // Indicator characters that start flow, anchors, tags, comments or block scalars.
  constexpr std::string_view kIndicators = ":?,[]{}#&*!|>'\"%@`";
  return kIndicators.find(s.front()) != std::string_view::npos ||
         s.find(": ") != std::string::npos || s.find(" #") != std::string::npos;
}

// Whether `s` reads back unchanged from a `|` block, which yaml-cpp writes without a chomping or
// indentation indicator: so "clip" chomping (exactly one final newline), a first line not
// starting with a space, and no characters a block cannot hold or that would be folded.
bool fits_literal_block(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n' || s.front() == ' ' ||
      s.front() == '\n') {
    return false;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f || (c == ' ' && s[i + 1] == '\n')) {
      return false;
    }
  }
  return true;
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key;
        if (needs_quotes(key)) {
          out << YAML::DoubleQuoted;
        }
        out << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      return;
    case Json::value_t::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : value) {
        emit(out, item);
      }
      out << YAML::EndSeq;
      return;
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (fits_literal_block(s)) {
        out << YAML::Literal << s;
      } else {
        if (needs_quotes(s)) {
          out << YAML::DoubleQuoted;
        }
        out << s;
      }
      return;
    }
    case Json::value_t::null:
      out << YAML::Null;
      return;
    case Json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    default:
      out << value.dump();
      return;
  }
}

}  // namespace

Format detect_format(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      continue;
    }
    return (c == '{' || c == '[') ? Format::kJson : Format::kYaml;
  }
  return Format::kYaml;
}

std::vector<Json> read_documents(std::string_view text, std::string_view source) {
  std::vector<Json> docs;
  if (detect_format(text) == Format::kJson) {
    // The webhook's parser: the same tree as Json::parse, linear in the number of keys.
    JsonLimits limits;
    limits.max_depth = kMaxDepth;
    limits.max_string_bytes = text.size();
    docs.push_back(parse_json_limited(text, limits, std::string(source) + ": document 0"));
    return docs;
  }
  std::vector<YAML::Node> nodes;
  try {
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    throw InputError(std::string(source) + ": line " + std::to_string(e.mark.line + 1),
                     "not valid YAML: " + e.msg);
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Converter converter{std::string(source) + ": document " + std::to_string(i)};
    Json doc = converter.convert(nodes[i], "", 0);
    if (!doc.is_null()) {
      docs.push_back(std::move(doc));
    }
  }
  return docs;
}

std::string write_documents(const std::vector<Json>& documents, Format format) {
  if (format == Format::kJson) {
    if (documents.size() == 1) {
      return documents.front().dump(2) + "\n";
    }
    Json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", documents}};
    return list.dump(2) + "\n";
  }
  std::string out;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    YAML::Emitter emitter;
    emitter.SetIndent(2);
    emit(emitter, documents[i]);
    if (i > 0) {
      out += "---\n";
    }
    out += emitter.c_str();
    out += "\n";
  }
  return out;
}

bool pod_template_pointer(const Json& object, std::string& pointer) {
  if (!object.is_object()) {
    return false;
  }
  auto kind_it = object.find("kind");
  if (kind_it == object.end() || !kind_it->is_string()) {
    return false;
  }
  const auto& kind = kind_it->get_ref<const std::string&>();
  if (kind == "Pod") {
    pointer.clear();
    return true;
  }
  if (kind == "CronJob") {
    pointer = "/spec/jobTemplate/spec/template";
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
             kind == "ReplicaSet" || kind == "ReplicationController" || kind == "Job") {
    pointer = "/spec/template";
  } else {
    return false;
  }
  Json::json_pointer ptr(pointer);
  return object.contains(ptr) && object.at(ptr).is_object();
}

}  // namespace sigv4
