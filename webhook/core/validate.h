#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantity.h"

namespace sigv4 {

// Small checks shared by the config loader and the annotation overrides. Each returns an empty
// string when the value is good, else why it is not.

std::string check_ipv4_cidr(std::string_view text);
std::string check_ipv6_cidr(std::string_view text);
bool looks_like_ipv6(std::string_view text);

// A TCP port 1-65535.
std::optional<int> parse_port(std::string_view text);

// A non-root UID 1..2147483647.
std::optional<int64_t> parse_uid(std::string_view text);

// An annotation or config value with a NUL, another C0 control character, DEL or a C1 control
// (U+0080-U+009F) in it: says which and where; empty when there is none.
std::string check_no_control_characters(std::string_view text);

// A container image reference: non-empty, no whitespace or control characters, at most 1024.
std::string check_image(std::string_view text);

// An AWS region such as us-west-2 or us-gov-west-1.
std::string check_region(std::string_view text);

// An IAM role ARN: arn:<partition>:iam::<12 digits>:role/<path/name>.
std::string check_role_arn(std::string_view text);

// A host name with an optional port (for --host / --sign-host).
std::string check_host(std::string_view text);

// A signing service name: letters, digits, '-', '_', '.'.
std::string check_token(std::string_view text);

// A Kubernetes object name (DNS-1123 subdomain): 1-253 lowercase letters, digits, '-' and '.',
// starting and ending with a letter or digit.
std::string check_object_name(std::string_view text);

// A ConfigMap or Secret data key: 1-253 letters, digits, '-', '_' and '.', not "." nor "..*".
std::string check_data_key(std::string_view text);

// Splits a comma-separated list, trimming spaces, dropping empty items.
std::vector<std::string> split_list(std::string_view text);

// Checks that request <= limit when both are set, comparing the quantities exactly; returns why
// not (nothing when either does not parse: that is reported on its own).
std::string check_request_within_limit(const std::string& request, const std::string& limit);

}  // namespace sigv4
