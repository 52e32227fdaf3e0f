#pragma once

#include <string>
#include <string_view>

namespace sigv4::server {

// A host and port to listen on; port 0 lets the kernel pick one.
struct ListenAddress {
  std::string host;
  int port = 0;
};

// Parses "host:port", ":port" (all IPv4 interfaces) or "[v6]:port". Throws InputError naming
// `flag` when the text is not one of those or the port is outside 0..65535.
ListenAddress parse_listen_address(std::string_view text, std::string_view flag);

// "host:port", with brackets around IPv6 hosts.
std::string to_string(const ListenAddress& address);

}  // namespace sigv4::server
