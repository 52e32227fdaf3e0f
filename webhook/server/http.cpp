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
  while (!rest.empty()) {
    const auto end = rest.find("\r\n");
    const std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    const auto colon = field.find(':');
    if (colon == 0 || colon == std::string_view::npos || field.front() == ' ' ||
        field.front() == '\t' ||
        field.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
      return "malformed header line";
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = trim(field.substr(colon + 1));
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
  body_.clear();
  // Sized for the common case only: a client's claimed length is not an allocation request.
  constexpr std::uint64_t kMaxReserve = std::uint64_t{1} << 20;
  if (!chunked_) {
    body_.reserve(static_cast<std::size_t>(std::min({length_, keep_, kMaxReserve})));
  }
}

void BodyReader::take(std::string& in, std::size_t n) {
  const std::uint64_t room = keep_ > body_.size() ? keep_ - body_.size() : 0;
  body_.append(in, 0, static_cast<std::size_t>(std::min<std::uint64_t>(n, room)));
  in.erase(0, n);
  seen_ += n;
}

BodyReader::Status BodyReader::feed(std::string& in) {
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
        const auto eol = in.find("\r\n");
        if (eol == std::string::npos) {
          return in.size() > kMaxChunkLine ? Status::kMalformed : Status::kMore;
        }
        std::string_view line = std::string_view(in).substr(0, eol);
        line = trim(line.substr(0, line.find(';')));
        std::uint64_t size = 0;
        const auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (eol > kMaxChunkLine || line.empty() || line.size() > 15 || ec != std::errc() ||
            ptr != line.data() + line.size()) {
          return Status::kMalformed;
        }
        in.erase(0, eol + 2);
        if (size == 0) {
          chunk_ = Chunk::kTrailer;
          continue;
        }
        if (seen_ + size > limit_) {
          return Status::kTooLong;
        }
        chunk_left_ = size;
        chunk_ = Chunk::kData;
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
        if (in.compare(0, 2, "\r\n") != 0) {
          return Status::kMalformed;
        }
        in.erase(0, 2);
        chunk_ = Chunk::kSize;
        continue;
      case Chunk::kTrailer: {
        const auto eol = in.find("\r\n");
        if (eol == std::string::npos) {
          return trailer_bytes_ + in.size() > kMaxHeadBytes ? Status::kMalformed : Status::kMore;
        }
        trailer_bytes_ += eol + 2;
        if (trailer_bytes_ > kMaxHeadBytes) {
          return Status::kMalformed;
        }
        in.erase(0, eol + 2);
        if (eol == 0) {
          return Status::kDone;  // the blank line after the trailers
        }
        continue;
      }
    }
  }
}

}  // namespace sigv4::server
