#pragma once

// UTF-8 as RFC 3629 defines it, the one decoder every reader and every quoting of pod text uses.

#include <cstddef>
#include <string>
#include <string_view>

namespace sigv4 {

// Decodes the character at s[i] into `cp`; returns its length in bytes, or 0 where the bytes
// there are not well-formed UTF-8 (overlong forms, surrogates, code points past U+10FFFF,
// truncated sequences; `cp` is then unspecified).
std::size_t next_code_point(std::string_view s, std::size_t i, char32_t& cp);

// Whether `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

// `bytes` with each byte that does not start a well-formed character replaced by U+FFFD, as Go
// converts bytes to a string.
std::string replace_invalid_utf8(std::string_view bytes);

// Appends `cp` (at most U+10FFFF, not a surrogate) encoded as UTF-8.
void append_utf8(std::string& out, char32_t cp);

}  // namespace sigv4
