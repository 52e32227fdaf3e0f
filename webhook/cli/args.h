#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sigv4::cli {

// A usage mistake (unknown flag, missing value): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Flags of one subcommand: `--name value`, `--name=value`, `-f value`, and switches.
class Args {
 public:
  // Parses `args` against the known value flags and switches; aliases map short to long names.
  // Throws UsageError for unknown flags, missing values and stray positional arguments.
  Args(const std::vector<std::string>& args, const std::set<std::string>& value_flags,
       const std::set<std::string>& switches = {},
       const std::map<std::string, std::string>& aliases = {});

  std::optional<std::string> get(const std::string& name) const;
  // All values of a repeatable flag, in order.
  std::vector<std::string> all(const std::string& name) const;
  bool has(const std::string& name) const;

 private:
  std::multimap<std::string, std::string> values_;
};

// Reads a whole file, or standard input for "-". Throws std::runtime_error naming the file.
std::string read_input(const std::string& path);

}  // namespace sigv4::cli
