// libFuzzer target: the front end's HTTP/1.1 request framing (webhook/server/http.cpp), what
// the webhook port parses from every client before any review. The first byte picks how much
// of the body is kept and how the bytes arrive; the rest is the request: head, blank line, body.
// Invariants: nothing but the documented answers; a parsed head has a path starting with '/',
// at most kMaxHeaderFields fields and no control character but HTAB in a header line;
// the body reader decides the same (status, kept body, bytes counted, what follows the body)
// whether the bytes arrive at once or in pieces; it never keeps more than asked; what it keeps
// is the start of what it would keep with no limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "server/http.h"

namespace {

using sigv4::fuzz::check;
using sigv4::server::BodyReader;
using sigv4::server::RequestHead;

struct Outcome {
  BodyReader::Status status;
  std::string body;
  std::uint64_t seen;
  std::string rest;
};

// Feeds `data` in pieces of 1 + (byte % 97) bytes drawn from `sizes` (all at once when empty),
// stopping at the first status that is not kMore, as the front end does.
Outcome read_body(const RequestHead& head, std::string_view data, std::uint64_t keep,
                  std::uint64_t limit, std::string_view sizes) {
  BodyReader reader;
  reader.start(head, keep, limit);
  std::string in;
  std::size_t at = 0;
  std::size_t piece = 0;
  BodyReader::Status status = BodyReader::Status::kMore;
  do {
    std::size_t n = data.size() - at;
    if (!sizes.empty()) {
      n = std::min<std::size_t>(n,
                                1 + static_cast<unsigned char>(sizes[piece++ % sizes.size()]) % 97);
    }
    in.append(data.substr(at, n));
    at += n;
    status = reader.feed(in);
  } while (status == BodyReader::Status::kMore && at < data.size());
  in.append(data.substr(at));
  return {status, reader.body(), reader.seen(), in};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const auto control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto end = input.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return 0;
  }
  RequestHead head;
  const std::string problem = sigv4::server::parse_request_head(input.substr(0, end), head);
  if (!problem.empty()) {
    return 0;
  }
  check(!head.path.empty() && head.path.front() == '/', "a parsed path starts with /");
  check(!(head.chunked && head.has_length), "chunked and a length are never both accepted");
  const std::string_view text = input.substr(0, end);
  std::size_t lines = 0;
  for (auto at = text.find("\r\n"); at != std::string_view::npos; at = text.find("\r\n", at + 2)) {
    ++lines;
  }
  check(lines <= sigv4::server::kMaxHeaderFields, "at most kMaxHeaderFields header fields");
  check(std::none_of(text.begin(), text.end(),
                     [](char c) {
                       const auto u = static_cast<unsigned char>(c);
                       return (u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u == 0x7F;
                     }),
        "no control character in an accepted head");
  const auto bare = [&text](char c, char partner, bool before) {
    for (auto at = text.find(c); at != std::string_view::npos; at = text.find(c, at + 1)) {
      const bool paired = before ? at + 1 < text.size() && text[at + 1] == partner
                                 : at > 0 && text[at - 1] == partner;
      if (!paired) {
        return true;
      }
    }
    return false;
  };
  check(!bare('\r', '\n', true) && !bare('\n', '\r', false), "no bare CR or LF in a head");
  const std::string_view body = input.substr(end + 4);
  const std::uint64_t keep = control & 0x3F;
  const std::uint64_t limit = 64 + (control >> 6) * 256;
  const Outcome whole = read_body(head, body, keep, limit, {});
  const Outcome pieces = read_body(head, body, keep, limit, input.substr(0, 16));
  check(whole.status == pieces.status, "the same status, at once or in pieces");
  check(whole.body == pieces.body, "the same body, at once or in pieces");
  check(whole.seen == pieces.seen, "the same bytes counted, at once or in pieces");
  check(whole.rest == pieces.rest, "the same bytes left after the body");
  check(whole.body.size() <= keep, "never keeps more than asked");
  check(whole.status != BodyReader::Status::kDone || whole.seen <= limit,
        "a complete body is within the limit");
  const Outcome unlimited = read_body(head, body, UINT64_MAX, limit, {});
  check(unlimited.body.compare(0, whole.body.size(), whole.body) == 0,
        "what is kept is the start of the body");
  return 0;
}
