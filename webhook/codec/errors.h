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

}  // namespace sigv4
