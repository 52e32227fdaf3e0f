#pragma once

#include <cstddef>
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

// The most `inject` and `patch` read from one file or from standard input unless
// --max-input-bytes says otherwise: far above any manifest (the apiserver refuses objects over
// 1.5 MiB), and low enough that parsing it stays well clear of a laptop's memory (a 15 MiB JSON
// List of pods peaks at about 0.5 GB of RSS; parsed JSON takes some 30 times its text).
inline constexpr std::size_t kDefaultMaxInputBytes = std::size_t{16} << 20;

// Reads a whole file, or standard input for "-", in bounded chunks. Throws std::runtime_error
// naming the file (or <stdin>) when it cannot be read or holds more than `limit` bytes: reading
// stops at the limit, and a regular file over it is refused before a byte is read.
std::string read_input(const std::string& path, std::size_t limit = kDefaultMaxInputBytes);

// The --max-input-bytes value of `args` (kDefaultMaxInputBytes when absent). Throws UsageError
// for anything but a positive whole number.
std::size_t max_input_bytes(const Args& args);

}  // namespace sigv4::cli
