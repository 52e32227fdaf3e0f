#pragma once

// HTTP/1.1 for the front end (frontend.cpp, exchange.cpp): a request's head and body framed from
// bytes already decrypted, and the answer's bytes. Pure: no sockets, no clocks; the request side
// is fuzzed by tests/fuzz/fuzz_http.cpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sigv4::server {

inline constexpr std::size_t kMaxHeadBytes = 16 * 1024;  // request line and headers; trailers
inline constexpr std::size_t kMaxHeaderFields = 100;     // header lines of a head; trailers
inline constexpr std::size_t kMaxChunkLine = 1024;       // a chunk-size line with extensions

// The problem parse_request_head names for a head of more than kMaxHeaderFields fields (431).
inline constexpr std::string_view kTooManyFields = "too many header fields";

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

// One answer of the routes (routes.h): what the front end writes after its status line, besides
// Content-Length and Connection, which it sets itself.
struct Response {
  int status = 200;
  std::string allow;         // the Allow header (405 answers); none when empty
  std::string content_type;  // the Content-Type header; none when empty
  std::string body;
};

// Parses the head of a request (request line and header lines, without the blank line).
// Returns an empty string, or why it is malformed: kTooManyFields (answered 431), anything else
// 400. Field names must be tokens and values free of control characters but HTAB (a bare CR
// or LF, NUL, DEL), as RFC 9110 5.5 has it: what one parser takes for a line break another may
// not.
std::string parse_request_head(std::string_view text, RequestHead& head);

// The body of one request, by Content-Length or chunked framing, from the bytes that follow its
// head: keeps the first `keep` bytes, counts the rest, and gives up past `limit` bytes in all.
// Linear in what it is fed, whatever the chunk sizes: a chunk costs a few comparisons, and the
// bytes fed are never moved but once, into the body.
class BodyReader {
 public:
  enum class Status { kMore, kDone, kMalformed, kTooLong };

  void start(const RequestHead& head, std::uint64_t keep, std::uint64_t limit);
  // Takes what belongs to the body from the front of `in`, advancing it past what was taken
  // (what follows the body stays in it).
  Status feed(std::string_view& in);
  // The same, erasing what was taken from the front of `in`.
  Status feed(std::string& in);
  std::string& body() { return body_; }
  std::uint64_t seen() const { return seen_; }

 private:
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };
  void take(std::string_view& in, std::size_t n);
  std::size_t line_end(std::string_view in, std::size_t max);
  Status chunk_size(std::string_view& in);
  Status chunk_found(std::string_view& in, std::size_t eol, std::uint64_t size);
  Status trailers(std::string_view& in);

  bool chunked_ = false;
  std::uint64_t length_ = 0;
  std::uint64_t keep_ = 0;
  std::uint64_t limit_ = 0;
  std::uint64_t seen_ = 0;
  std::uint64_t chunk_left_ = 0;
  Chunk chunk_ = Chunk::kSize;
  std::size_t trailer_bytes_ = 0;
  std::size_t trailer_fields_ = 0;
  std::size_t scanned_ = 0;  // bytes of the line at the front of the input already searched
  std::string body_;
};

// Appends `res` to `out` as HTTP/1.1: the status line, Allow and Content-Type when set,
// Content-Length, Connection (close or keep-alive), then the body unless `with_body` is false (a
// HEAD answer has the GET's length).
void append_response(std::string& out, const Response& res, bool with_body, bool close);

}  // namespace sigv4::server
