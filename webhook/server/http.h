#pragma once

// HTTP/1.1 request framing for the webhook's front end (frontend.cpp): the head and the body,
// from bytes already decrypted. Pure: no sockets, no clocks; fuzzed by tests/fuzz/fuzz_http.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sigv4::server {

inline constexpr std::size_t kMaxHeadBytes = 16 * 1024;  // request line and headers; trailers
inline constexpr std::size_t kMaxChunkLine = 1024;       // a chunk-size line with extensions

// One parsed request head (HTTP/1.x), as the front end reads it.
struct RequestHead {
  std::string method;
  std::string path;  // percent-decoded, without the query
  bool http10 = false;
  bool keep_alive = true;
  bool expect_continue = false;
  bool chunked = false;
  bool has_length = false;
  std::uint64_t content_length = 0;
  std::string content_type;
};

// Parses the head of a request (request line and header lines, without the blank line).
// Returns an empty string, or why it is malformed (answered 400).
std::string parse_request_head(std::string_view text, RequestHead& head);

// The body of one request, by Content-Length or chunked framing, from the bytes that follow its
// head: keeps the first `keep` bytes, counts the rest, and gives up past `limit` bytes in all.
class BodyReader {
 public:
  enum class Status { kMore, kDone, kMalformed, kTooLong };

  void start(const RequestHead& head, std::uint64_t keep, std::uint64_t limit);
  // Takes what belongs to the body from the front of `in` (what follows it stays there).
  Status feed(std::string& in);
  std::string& body() { return body_; }
  std::uint64_t seen() const { return seen_; }

 private:
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };
  void take(std::string& in, std::size_t n);

  bool chunked_ = false;
  std::uint64_t length_ = 0;
  std::uint64_t keep_ = 0;
  std::uint64_t limit_ = 0;
  std::uint64_t seen_ = 0;
  std::uint64_t chunk_left_ = 0;
  Chunk chunk_ = Chunk::kSize;
  std::size_t trailer_bytes_ = 0;
  std::string body_;
};

}  // namespace sigv4::server
