#include "validate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <utility>

namespace sigv4 {
namespace {

bool parse_int(std::string_view text, long long& out) {
  if (text.empty()) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::string check_cidr(std::string_view text, int family, int max_prefix) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return "expected an address/prefix CIDR";
  }
  std::string address(text.substr(0, slash));
  // inet_pton reads up to a NUL: "10.0.0.1\0$(reboot)/8" would pass for 10.0.0.1/8.
  if (address.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
    return family == AF_INET ? "not an IPv4 address" : "not an IPv6 address";
  }
  long long prefix = -1;
  if (!parse_int(text.substr(slash + 1), prefix) || prefix < 0 || prefix > max_prefix) {
    return "prefix length must be 0-" + std::to_string(max_prefix);
  }
  unsigned char buf[16];
  if (inet_pton(family, address.c_str(), buf) != 1) {
    return family == AF_INET ? "not an IPv4 address" : "not an IPv6 address";
  }
  return {};
}

std::string hex_byte(unsigned char b) {
  constexpr char kHex[] = "0123456789abcdef";
  return std::string("\\x") + kHex[b >> 4] + kHex[b & 0x0F];
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string check_ipv4_cidr(std::string_view text) { return check_cidr(text, AF_INET, 32); }

std::string check_ipv6_cidr(std::string_view text) { return check_cidr(text, AF_INET6, 128); }

bool looks_like_ipv6(std::string_view text) { return text.find(':') != std::string_view::npos; }

std::optional<int> parse_port(std::string_view text) {
  long long value = 0;
  if (!parse_int(text, value) || value < 1 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<int64_t> parse_uid(std::string_view text) {
  long long value = 0;
  if (!parse_int(text, value) || value < 1 || value > 2147483647LL) {
    return std::nullopt;
  }
  return static_cast<int64_t>(value);
}

std::string check_no_control_characters(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::string what;
    if (b == 0) {
      what = "a NUL byte";
    } else if (b < 0x20 || b == 0x7F) {
      what = "the control character " + hex_byte(b);
    } else if (b == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      what = "the C1 control character U+00" +
             hex_byte(static_cast<unsigned char>(text[i + 1])).substr(2);
    }
    if (!what.empty()) {
      return "must not contain NUL or control characters: " + what + " at byte " +
             std::to_string(i);
    }
  }
  return {};
}

std::string check_image(std::string_view text) {
  if (text.empty()) {
    return "must not be empty";
  }
  if (text.size() > 1024) {
    return "longer than 1024 characters";
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return "must not contain spaces or control characters";
    }
  }
  return {};
}

std::string check_region(std::string_view text) {
  // Two-letter prefix, dash-separated words, a trailing number: us-west-2, us-gov-west-1.
  if (text.size() < 4 || text.size() > 32) {
    return "expected an AWS region such as us-west-2";
  }
  std::size_t dashes = 0;
  for (char c : text) {
    if (c == '-') {
      ++dashes;
    } else if (!(std::islower(static_cast<unsigned char>(c)) != 0 ||
                 std::isdigit(static_cast<unsigned char>(c)) != 0)) {
      return "expected an AWS region such as us-west-2";
    }
  }
  if (dashes < 2 || text.front() == '-' || text.back() == '-' ||
      std::isdigit(static_cast<unsigned char>(text.back())) == 0) {
    return "expected an AWS region such as us-west-2";
  }
  return {};
}

std::string check_role_arn(std::string_view text) {
  const std::string kWhy = "expected arn:<partition>:iam::<account-id>:role/<name>";
  if (text.substr(0, 4) != "arn:" || text.size() > 2048) {
    return kWhy;
  }
  auto iam = text.find(":iam::");
  if (iam == std::string_view::npos || iam < 4) {
    return kWhy;
  }
  std::string_view rest = text.substr(iam + 6);
  if (rest.size() < 18 || rest.substr(12, 6) != ":role/") {
    return kWhy;
  }
  for (std::size_t i = 0; i < 12; ++i) {
    if (std::isdigit(static_cast<unsigned char>(rest[i])) == 0) {
      return kWhy;
    }
  }
  for (char c : rest.substr(18)) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return kWhy;
    }
  }
  return rest.size() > 18 ? std::string() : kWhy;
}

std::string check_host(std::string_view text) {
  if (text.empty() || text.size() > 253 + 6) {
    return "expected a host name, optionally with :port";
  }
  auto colon = text.rfind(':');
  std::string_view host = text.substr(0, colon);
  if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1))) {
    return "port must be 1-65535";
  }
  if (host.empty()) {
    return "expected a host name, optionally with :port";
  }
  for (char c : host) {
    if (!is_host_char(c)) {
      return "expected a host name, optionally with :port";
    }
  }
  return {};
}

std::string check_token(std::string_view text) {
  if (text.empty() || text.size() > 128) {
    return "must be 1-128 characters";
  }
  for (char c : text) {
    if (!is_host_char(c)) {
      return "only letters, digits, '-', '_' and '.' are allowed";
    }
  }
  return {};
}

std::string check_object_name(std::string_view text) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  const bool ok = !text.empty() && text.size() <= 253 && alnum(text.front()) &&
                  alnum(text.back()) && std::all_of(text.begin(), text.end(), [&](char c) {
                    return alnum(c) || c == '-' || c == '.';
                  });
  // DNS-1123: every dot-separated label starts and ends with a letter or digit too.
  const bool labels =
      text.find("..") == text.npos && text.find(".-") == text.npos && text.find("-.") == text.npos;
  if (!ok || !labels) {
    return "expected a Kubernetes object name: 1-253 lowercase letters, digits, '-' and '.', "
           "starting and ending with a letter or digit";
  }
  return {};
}

std::string check_data_key(std::string_view text) {
  if (text.empty() || text.size() > 253 || text == "." || text.substr(0, 2) == ".." ||
      !std::all_of(text.begin(), text.end(), is_host_char)) {
    return "expected a data key: 1-253 letters, digits, '-', '_' and '.'";
  }
  return {};
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())) != 0) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())) != 0) {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      items.emplace_back(item);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return items;
}

std::string check_request_within_limit(const std::string& request, const std::string& limit) {
  if (request.empty() || limit.empty()) {
    return {};
  }
  auto req = parse_quantity(request);
  auto lim = parse_quantity(limit);
  if (req && lim && *req > *lim) {
    return "request " + request + " exceeds limit " + limit;
  }
  return {};
}

}  // namespace sigv4
