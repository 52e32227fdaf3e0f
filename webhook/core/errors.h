#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace sigv4 {

// The one error type parsers throw for untrusted input. `where` names the place (a config key,
// an annotation, a field path such as `request.object.spec`), `what()` the whole message.
class InputError : public std::runtime_error {
 public:
  InputError(std::string where, const std::string& message)
      : std::runtime_error(where.empty() ? message : where + ": " + message),
        where_(std::move(where)),
        detail_(message) {}

  const std::string& where() const { return where_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string where_;
  std::string detail_;
};

// An invalid per-pod override: the pod is wrong, so the webhook denies it (HTTP 200, allowed:
// false, code 400). `annotation` and `value` are quoted back to the user.
class OverrideError : public InputError {
 public:
  OverrideError(std::string annotation, std::string value, const std::string& why)
      : InputError(annotation, "invalid value \"" + value + "\": " + why),
        annotation_(std::move(annotation)),
        value_(std::move(value)) {}

  const std::string& annotation() const { return annotation_; }
  const std::string& value() const { return value_; }

 private:
  std::string annotation_;
  std::string value_;
};

}  // namespace sigv4
