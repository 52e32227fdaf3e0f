#pragma once

#include <string>
#include <string_view>

#include "json.h"

namespace sigv4 {

// The compact JSON text of `value`, byte for byte what `value.dump(-1, ' ', false,
// Json::error_handler_t::replace)` gives, but strings of plain ASCII (all of a patch and a
// response but user-supplied text) are copied in one piece instead of escaped byte by byte.
// Never throws for invalid UTF-8: it is replaced by U+FFFD, as with that dump.
std::string to_json_text(const Json& value);

// Appends the same text to `out`.
void append_json_text(std::string& out, const Json& value);

// Appends `s` as a JSON string, as append_json_text would write it.
void append_json_string(std::string& out, std::string_view s);

// Appends `open`, then each of `items` written by `write` with a comma between them, then
// `close`: every JSON array and object this project writes as text.
template <class Items, class Write>
void append_joined(std::string& out, char open, const Items& items, Write write, char close) {
  out += open;
  bool first = true;
  for (const auto& item : items) {
    if (!first) {
      out += ',';
    }
    first = false;
    write(item);
  }
  out += close;
}

}  // namespace sigv4
