#include "manifests.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "errors.h"
#include "json_parse.h"
#include "utf8.h"
#include "yaml.h"

namespace sigv4 {
namespace {

// The JSON reader's nesting bound, the YAML reader's too.
constexpr std::size_t kMaxDepth = 512;
// kubectl looks this far into a stream for the `{` that makes it read JSON first.
constexpr std::size_t kJsonPeekBytes = 4096;

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Go's unicode.IsSpace, which kubectl uses to find the first character of a stream.
bool go_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

// Where one JSON value starting at text[pos] ends (brackets balanced outside strings), or npos.
// The value itself is checked by the JSON parser.
std::size_t json_value_end(std::string_view text, std::size_t pos) {
  std::size_t depth = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const char c = text[i];
    const bool in_scalar = depth == 0 && i > pos;
    if (in_scalar &&
        (json_space(c) || std::string_view("{}[]\",:").find(c) != std::string_view::npos)) {
      return i;
    }
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') {
          ++i;
        }
      }
      if (i >= text.size()) {
        return std::string_view::npos;
      }
      if (depth == 0) {
        return i + 1;
      }
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        return std::string_view::npos;
      }
      if (--depth == 0) {
        return i + 1;
      }
    }
  }
  return depth == 0 ? text.size() : std::string_view::npos;
}

std::size_t line_at(std::string_view text, std::size_t pos) {
  const std::string_view head = text.substr(0, pos);
  return static_cast<std::size_t>(std::count(head.begin(), head.end(), '\n'));
}

// After the JSON values kubectl read, it eats whitespace up to and including the first newline
// and reads the rest as YAML.
std::size_t skip_to_yaml(std::string_view text, std::size_t pos) {
  while (pos < text.size()) {
    char32_t cp = 0;
    const std::size_t length = next_code_point(text, pos, cp);
    if (length == 0 || !go_space(cp)) {
      break;
    }
    pos += length;
    if (cp == '\n') {
      break;
    }
  }
  return pos;
}

bool field_is_array_or_null(const Json& list) {
  return list["items"].is_array() || list["items"].is_null();
}

}  // namespace

bool is_list(const Json& object) {
  if (!object.is_object() || !object.contains("items")) {
    return false;
  }
  const auto kind = object.find("kind");
  if (kind == object.end() || !kind->is_string()) {
    return false;
  }
  const auto& k = kind->get_ref<const std::string&>();
  return k.size() >= 4 && k.compare(k.size() - 4, 4, "List") == 0;
}

Format detect_format(std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      continue;
    }
    return (c == '{' || c == '[') ? Format::kJson : Format::kYaml;
  }
  return Format::kYaml;
}

bool starts_as_json(std::string_view text) {
  const std::string_view peek = text.substr(0, kJsonPeekBytes);
  for (std::size_t i = 0; i < peek.size();) {
    char32_t cp = 0;
    const std::size_t length = next_code_point(peek, i, cp);
    if (length == 0 || !go_space(cp)) {
      return peek[i] == '{' || peek[i] == '[';
    }
    i += length;
  }
  return false;
}

// As kubectl's YAMLOrJSONDecoder: a stream opening with `{` is read as JSON values, one after
// another; at the first that does not parse, a stream of at most one value so far goes on as
// YAML from the end of that value (so `{...}` then `---` then YAML or JSON documents works), a
// stream of two or more is an error. JSON `null` documents are dropped, like empty YAML ones.
std::vector<Json> read_documents(std::string_view text, std::string_view source) {
  std::vector<Json> docs;
  if (!starts_as_json(text)) {
    return yaml::read(text, source);
  }
  JsonLimits limits;
  limits.max_depth = kMaxDepth;
  limits.max_string_bytes = text.size();
  std::size_t pos = 0;
  std::size_t count = 0;
  std::size_t line = 0;  // counted as the values go by: a stream of many stays linear
  std::size_t line_pos = 0;
  auto line_of = [&](std::size_t at) {
    line += line_at(text.substr(line_pos), at - line_pos);
    line_pos = at;
    return line;
  };
  for (;;) {
    std::size_t start = pos;
    while (start < text.size() && json_space(text[start])) {
      ++start;
    }
    if (start == text.size()) {
      return docs;
    }
    const std::string what = std::string(source) + ": document " + std::to_string(count) +
                             ": line " + std::to_string(line_of(start) + 1);
    const std::size_t end = json_value_end(text, start);
    try {
      if (end == std::string_view::npos) {
        throw InputError(what, "malformed JSON: no complete value");
      }
      Json doc = parse_json_limited(text.substr(start, end - start), limits, what);
      ++count;
      if (!doc.is_null()) {
        docs.push_back(std::move(doc));
      }
      pos = end;
    } catch (const InputError& e) {
      // Past the depth bound YAML would fail too, less clearly.
      if (count > 1 || e.detail().rfind("JSON nested deeper", 0) == 0) {
        throw;
      }
      break;
    }
  }
  pos = skip_to_yaml(text, pos);
  for (Json& doc : yaml::read(text.substr(pos), source, count, line_of(pos))) {
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::string write_documents(const std::vector<Json>& documents, Format format) {
  if (format == Format::kJson) {
    if (documents.size() == 1) {
      return documents.front().dump(2) + "\n";
    }
    Json items = Json::array();
    for (const Json& doc : documents) {
      if (!is_list(doc) || !field_is_array_or_null(doc)) {
        items.push_back(doc);
        continue;
      }
      const std::string& kind = doc["kind"].get_ref<const std::string&>();
      for (const Json& item : doc["items"].is_array() ? doc["items"] : Json::array()) {
        items.push_back(item);
        if (item.is_object() && !item.contains("kind") && !item.contains("apiVersion")) {
          items.back()["kind"] = kind.substr(0, kind.size() - 4);
          items.back()["apiVersion"] = doc.contains("apiVersion") ? doc["apiVersion"] : Json("");
        }
      }
    }
    Json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
    return list.dump(2) + "\n";
  }
  std::string out;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (i > 0) {
      out += "---\n";
    }
    out += yaml::write(documents[i]);
  }
  // A stream opening with `{` or `[` (an empty first document: `{}`, `[]`) would be read back as
  // JSON: an explicit document start keeps it YAML (found by fuzz_manifests).
  if (detect_format(out) == Format::kJson) {
    out.insert(0, "---\n");
  }
  return out;
}

}  // namespace sigv4
