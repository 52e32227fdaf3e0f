#pragma once

#include <string>
#include <string_view>

namespace sigv4::server {

// A host and port to listen on; an empty host means every interface (IPv6 and IPv4 where the
// node has IPv6, else IPv4), port 0 lets the kernel pick one.
struct ListenAddress {
  std::string host;
  int port = 0;
};

// Parses "host:port", ":port" (every interface) or "[v6]:port". Throws InputError naming
// `flag` when the text is not one of those or the port is outside 0..65535.
ListenAddress parse_listen_address(std::string_view text, std::string_view flag);

// "host:port", with brackets around IPv6 hosts; ":port" for every interface.
std::string to_string(const ListenAddress& address);

// Opens a non-blocking listening TCP socket on `address` into `fd`; an empty host means every
// interface (dual-stack "::" with IPv4 mapped, else "0.0.0.0"), port 0 a free port. Returns
// what was bound, port -1 (and fd -1) on failure.
ListenAddress listen_on(const ListenAddress& address, int& fd);

}  // namespace sigv4::server
