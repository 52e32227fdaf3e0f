#include "json_text.h"

#include "json_scan.h"

namespace sigv4 {

// Escapes as nlohmann's serializer does for ASCII: \" \\ \b \f \n \r \t, other control
// characters as \u00xx. Strings holding any byte >= 0x80 (UTF-8, or invalid bytes to replace) go
// through nlohmann itself. Plain runs are found eight bytes at a time (scan_plain): the base64
// patch in a response is kilobytes of them, and a byte loop over it cost more than the encoding.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t mark = out.size();
  out.reserve(mark + s.size() + 2);
  out += '"';
  const char* run = s.data();
  const char* const end = run + s.size();
  for (;;) {
    const char* stop = scan_plain(run, end);
    out.append(run, stop);
    if (stop == end) {
      break;
    }
    const auto u = static_cast<unsigned char>(*stop);
    run = stop + 1;
    switch (u) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u >= 0x80) {  // not plain ASCII: start over with nlohmann's serializer
          out.resize(mark);
          out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
          return;
        }
        out += "\\u00";
        out += kHex[u >> 4];
        out += kHex[u & 15];
    }
  }
  out += '"';
}

void append_json_text(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      append_joined(
          out, '{', value.get_ref<const Json::object_t&>(),
          [&out](const auto& member) {
            append_json_string(out, member.first);
            out += ':';
            append_json_text(out, member.second);
          },
          '}');
      return;
    case Json::value_t::array:
      append_joined(
          out, '[', value, [&out](const Json& item) { append_json_text(out, item); }, ']');
      return;
    case Json::value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<Json::number_integer_t>());
      return;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<Json::number_unsigned_t>());
      return;
    default:  // floats, binary, discarded: nlohmann's own formatting
      out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

std::string to_json_text(const Json& value) {
  std::string out;
  append_json_text(out, value);
  return out;
}

}  // namespace sigv4
