#include "server/address.h"

#include <charconv>

#include "core/errors.h"

namespace sigv4::server {
namespace {

int parse_port(std::string_view text, std::string_view flag) {
  int port = -1;
  const auto* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, port);
  if (text.empty() || error != std::errc() || ptr != end || port < 0 || port > 65535) {
    throw InputError(std::string(flag), "invalid port \"" + std::string(text) + "\"");
  }
  return port;
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text, std::string_view flag) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw InputError(std::string(flag),
                     "expected host:port or :port, got \"" + std::string(text) + "\"");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw InputError(std::string(flag), "write IPv6 hosts in brackets, as [::1]:8443");
  }
  ListenAddress address;
  address.host = std::string(host);
  address.port = parse_port(text.substr(colon + 1), flag);
  return address;
}

std::string to_string(const ListenAddress& address) {
  // Appended piece by piece: `":" + std::to_string(...)` trips GCC 12's -Wrestrict false
  // positive at -O3, which broke Release (-Werror) builds.
  std::string out;
  if (address.host.find(':') != std::string::npos) {
    out += '[';
    out += address.host;
    out += ']';
  } else {
    out += address.host;
  }
  out += ':';
  out += std::to_string(address.port);
  return out;
}

}  // namespace sigv4::server
