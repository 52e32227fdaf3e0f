#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sigv4 {

// Text the webhook writes from pod data (warnings, denials, error messages) goes through these:
// bounded in length and in count whatever the pod holds, and safe to print on a terminal.

// A name or value from the pod inside one of our messages: at most this many bytes of it.
inline constexpr std::size_t kMaxQuotedBytes = 128;
// One warning, denial or error message, all told.
inline constexpr std::size_t kMaxMessageBytes = 1024;
// Warnings in one answer, the "more not shown" summary included.
inline constexpr std::size_t kMaxWarnings = 8;
// What clip() may add after its `max` bytes: "...(" + up to 20 digits + " bytes)".
inline constexpr std::size_t kClipMarkBytes = 31;

// `text` made printable and short: backslash, double quote, control characters (C0, DEL, C1),
// Unicode line separators and bidirectional controls, and bytes that are not UTF-8 are escaped
// (\\ \" \n \t \r \xNN \uNNNN); when the escaped text would exceed `max` bytes it is cut at a
// character boundary and marked "...(N bytes)", N the size of the whole `text`. The result is at
// most max + kClipMarkBytes bytes. Never throws but for allocation.
std::string clip(std::string_view text, std::size_t max = kMaxQuotedBytes);

// clip(text, max) in double quotes: how a message quotes a name or value from the pod.
std::string quote(std::string_view text, std::size_t max = kMaxQuotedBytes);

// `message` unchanged when it has at most `max` bytes, else cut at a UTF-8 character boundary and
// marked "...(truncated, N bytes)" so that the result has at most `max` bytes (max >= 64).
std::string bound_message(std::string message, std::size_t max = kMaxMessageBytes);

// Bounds a list of warnings in place: each one by bound_message(); when there are more than
// kMaxWarnings, the first kMaxWarnings - 1 are kept and the last says how many were left out.
void bound_warnings(std::vector<std::string>& warnings);

}  // namespace sigv4
