#include "server/http.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace sigv4::server {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 5.6.2: the characters of a token (a field name, a method).
bool is_tchar(unsigned char c) {
  if (std::isalnum(c) != 0) {
    return true;
  }
  constexpr std::string_view kMarks = "!#$%&'*+-.^_`|~";
  return c < 0x80 && kMarks.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_tchar(static_cast<unsigned char>(c));
  });
}

// RFC 9110 5.5: visible characters, SP, HTAB and obs-text; no other control character (a bare
// CR or LF, NUL, DEL), which one parser may take for a line break and another not.
bool is_field_value(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7F;
  });
}

// Splits a header or trailer line into its name and trimmed value; false when the name is not
// a token or the value holds a control character.
bool split_field(std::string_view field, std::string_view& name, std::string_view& value) {
  const auto colon = field.find(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  name = field.substr(0, colon);
  value = trim(field.substr(colon + 1));
  return is_token(name) && is_field_value(value);
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
  return false;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// The path of a request target: up to the query, %XX decoded (as cpp-httplib did).
bool decode_path(std::string_view target, std::string& path) {
  if (std::any_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F;
      })) {
    return false;
  }
  target = target.substr(0, target.find('?'));
  if (target.empty() || target.front() != '/') {
    return false;
  }
  path.clear();
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && hex_digit(target[i + 1]) >= 0 &&
        hex_digit(target[i + 2]) >= 0) {
      path += static_cast<char>(hex_digit(target[i + 1]) * 16 + hex_digit(target[i + 2]));
      i += 2;
    } else {
      path += target[i];
    }
  }
  return true;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

std::string parse_request_head(std::string_view text, RequestHead& head) {
  const auto line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return "malformed request line";
  }
  head.method = std::string(line.substr(0, sp1));
  const std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    head.http10 = false;
  } else if (version == "HTTP/1.0") {
    head.http10 = true;
  } else {
    return "unsupported HTTP version";
  }
  if (head.method.empty() || !std::all_of(head.method.begin(), head.method.end(),
                                          [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return "malformed method";
  }
  if (!decode_path(line.substr(sp1 + 1, sp2 - sp1 - 1), head.path)) {
    return "malformed request target";
  }
  head.keep_alive = !head.http10;
  bool has_te = false;
  std::string_view rest = line_end == std::string_view::npos ? "" : text.substr(line_end + 2);
  std::size_t fields = 0;
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    if (++fields > kMaxHeaderFields) {
      return std::string(kTooManyFields);
    }
    std::string_view name;
    std::string_view value;
    if (!split_field(field, name, value)) {
      return "malformed header line";
    }
    if (iequals(name, "Content-Length")) {
      std::uint64_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
          (head.has_length && n != head.content_length)) {
        return "invalid Content-Length";
      }
      head.has_length = true;
      head.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!iequals(value, "chunked") || has_te) {
        return "unsupported Transfer-Encoding";
      }
      has_te = true;
      head.chunked = true;
    } else if (iequals(name, "Content-Type")) {
      head.content_type = std::string(value);
    } else if (iequals(name, "Connection")) {
      if (lists(value, "close")) {
        head.keep_alive = false;
      } else if (lists(value, "keep-alive")) {
        head.keep_alive = true;
      }
    } else if (iequals(name, "Expect")) {
      head.expect_continue = iequals(value, "100-continue");
    }
  }
  if (head.chunked && head.has_length) {
    return "both Content-Length and Transfer-Encoding";  // a smuggling vector: refused
  }
  return {};
}

void BodyReader::start(const RequestHead& head, std::uint64_t keep, std::uint64_t limit) {
  chunked_ = head.chunked;
  length_ = head.has_length ? head.content_length : 0;
  keep_ = keep;
  limit_ = limit;
  seen_ = 0;
  chunk_left_ = 0;
  chunk_ = Chunk::kSize;
  trailer_bytes_ = 0;
  trailer_fields_ = 0;
  scanned_ = 0;
  body_.clear();
  // Sized for the common case only: a client's claimed length is not an allocation request.
  constexpr std::uint64_t kMaxReserve = std::uint64_t{1} << 20;
  if (!chunked_) {
    body_.reserve(static_cast<std::size_t>(std::min({length_, keep_, kMaxReserve})));
  }
}

void BodyReader::take(std::string_view& in, std::size_t n) {
  const std::uint64_t room = keep_ > body_.size() ? keep_ - body_.size() : 0;
  body_.append(in.data(), static_cast<std::size_t>(std::min<std::uint64_t>(n, room)));
  in.remove_prefix(n);
  seen_ += n;
}

BodyReader::Status BodyReader::feed(std::string& in) {
  std::string_view view(in);
  const Status status = feed(view);
  in.erase(0, in.size() - view.size());
  return status;
}

BodyReader::Status BodyReader::feed(std::string_view& in) {
  if (!chunked_) {
    if (length_ > limit_) {
      return Status::kTooLong;
    }
    take(in, static_cast<std::size_t>(std::min<std::uint64_t>(length_ - seen_, in.size())));
    return seen_ == length_ ? Status::kDone : Status::kMore;
  }
  for (;;) {
    switch (chunk_) {
      case Chunk::kSize: {
        const Status status = chunk_size(in);
        if (chunk_ == Chunk::kSize) {
          return status;  // the line is incomplete or malformed, or the chunk too long
        }
        continue;
      }
      case Chunk::kData: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, in.size()));
        take(in, n);
        chunk_left_ -= n;
        if (chunk_left_ > 0) {
          return Status::kMore;
        }
        chunk_ = Chunk::kDataEnd;
        continue;
      }
      case Chunk::kDataEnd:
        if (in.size() < 2) {
          return in.empty() || in[0] == '\r' ? Status::kMore : Status::kMalformed;
        }
        if (in[0] != '\r' || in[1] != '\n') {
          return Status::kMalformed;
        }
        in.remove_prefix(2);
        chunk_ = Chunk::kSize;
        continue;
      case Chunk::kTrailer:
        return trailers(in);
    }
  }
}

// Where the line at the front of `in` ends (its CR), or npos; searches only what an earlier call
// has not, so a line that arrives a byte at a time costs linear time.
std::size_t BodyReader::line_end(std::string_view in, std::size_t max) {
  const std::size_t from = scanned_ > 0 ? scanned_ - 1 : 0;
  const auto eol = in.substr(0, max + 2).find("\r\n", from);
  scanned_ = eol == std::string_view::npos ? std::min(in.size(), max + 2) : 0;
  return eol;
}

// A chunk-size line: on success `chunk_` moves on (to the data, or to the trailers after the
// last chunk); else it stays and the status says why.
BodyReader::Status BodyReader::chunk_size(std::string_view& in) {
  // The common line, hex digits and CRLF, read in one pass: a body of 1-byte chunks is mostly
  // these lines, and the general path below cost several times as much.
  std::uint64_t size = 0;
  std::size_t digits_end = 0;
  for (int digit = 0;
       digits_end < in.size() && digits_end < 16 && (digit = hex_digit(in[digits_end])) >= 0;
       ++digits_end) {
    size = size * 16 + static_cast<std::uint64_t>(digit);
  }
  if (digits_end > 0 && digits_end < 16 && digits_end + 1 < in.size() && in[digits_end] == '\r' &&
      in[digits_end + 1] == '\n') {
    scanned_ = 0;
    return chunk_found(in, digits_end, size);
  }
  const auto eol = line_end(in, kMaxChunkLine);
  if (eol == std::string_view::npos) {
    return in.size() > kMaxChunkLine ? Status::kMalformed : Status::kMore;
  }
  const std::string_view line = in.substr(0, eol);
  const auto semicolon = line.find(';');
  if (semicolon != std::string_view::npos && !is_field_value(line.substr(semicolon + 1))) {
    return Status::kMalformed;  // extensions are ignored, but not control characters
  }
  const std::string_view digits = trim(line.substr(0, semicolon));
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  if (eol > kMaxChunkLine || digits.empty() || digits.size() > 15 || ec != std::errc() ||
      ptr != digits.data() + digits.size()) {
    return Status::kMalformed;
  }
  return chunk_found(in, eol, size);
}

// A well-formed chunk-size line of `eol` bytes (without its CRLF) announcing `size`.
BodyReader::Status BodyReader::chunk_found(std::string_view& in, std::size_t eol,
                                           std::uint64_t size) {
  in.remove_prefix(eol + 2);
  if (size != 0 && seen_ + size > limit_) {
    return Status::kTooLong;
  }
  chunk_left_ = size;
  chunk_ = size == 0 ? Chunk::kTrailer : Chunk::kData;
  return Status::kMore;
}

// The trailer lines (each checked like a header, then dropped) and the blank line that ends the
// body.
BodyReader::Status BodyReader::trailers(std::string_view& in) {
  for (;;) {
    const auto eol = line_end(in, kMaxHeadBytes);
    if (eol == std::string_view::npos) {
      return trailer_bytes_ + in.size() > kMaxHeadBytes ? Status::kMalformed : Status::kMore;
    }
    trailer_bytes_ += eol + 2;
    if (trailer_bytes_ > kMaxHeadBytes) {
      return Status::kMalformed;
    }
    if (eol == 0) {
      in.remove_prefix(2);
      return Status::kDone;
    }
    std::string_view name;
    std::string_view value;
    if (++trailer_fields_ > kMaxHeaderFields || !split_field(in.substr(0, eol), name, value)) {
      return Status::kMalformed;
    }
    in.remove_prefix(eol + 2);
  }
}

void append_response(std::string& out, const Response& res, bool with_body, bool close) {
  out.reserve(out.size() + res.body.size() + 256);
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += reason_phrase(res.status);
  out += "\r\n";
  if (!res.allow.empty()) {
    append_field(out, "Allow", res.allow);
  }
  if (!res.content_type.empty()) {
    append_field(out, "Content-Type", res.content_type);
  }
  append_field(out, "Content-Length", std::to_string(res.body.size()));
  append_field(out, "Connection", close ? "close" : "keep-alive");
  out += "\r\n";
  if (with_body) {
    out += res.body;
  }
}

}  // namespace sigv4::server
