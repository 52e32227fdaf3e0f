#include "server/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <memory>

#include "codec/errors.h"

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

// Binds and listens on one host; returns the bound port, or -1.
int try_listen(const std::string& host, int port, int& fd) {
  fd = -1;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr) {
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
  const int s = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    return -1;
  }
  const int yes = 1;
  const int no = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (found->ai_family == AF_INET6) {
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));  // IPv4 arrives mapped
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (::bind(s, found->ai_addr, found->ai_addrlen) != 0 || ::listen(s, SOMAXCONN) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    ::close(s);
    return -1;
  }
  fd = s;
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

}  // namespace

ListenAddress listen_on(const ListenAddress& address, int& fd) {
  if (!address.host.empty()) {
    return {address.host, try_listen(address.host, address.port, fd)};
  }
  const int port = try_listen("::", address.port, fd);
  if (port >= 0) {
    return {"::", port};
  }
  return {"0.0.0.0", try_listen("0.0.0.0", address.port, fd)};
}

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
