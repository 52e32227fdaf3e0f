#include "args.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace sigv4::cli {

Args::Args(const std::vector<std::string>& args, const std::set<std::string>& value_flags,
           const std::set<std::string>& switches,
           const std::map<std::string, std::string>& aliases) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    if (auto alias = aliases.find(arg); alias != aliases.end()) {
      arg = alias->second;
    }
    if (arg.rfind("--", 0) != 0) {
      throw UsageError("unexpected argument \"" + args[i] + "\"");
    }
    std::string name = arg.substr(2);
    if (switches.count(name) != 0) {
      if (inline_value) {
        throw UsageError("--" + name + " takes no value");
      }
      values_.emplace(name, "true");
    } else if (value_flags.count(name) != 0) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          throw UsageError("--" + name + " needs a value");
        }
        inline_value = args[++i];
      }
      values_.emplace(name, *inline_value);
    } else {
      throw UsageError("unknown flag \"" + args[i] + "\"");
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto range = values_.equal_range(name);
  if (range.first == range.second) {
    return std::nullopt;
  }
  return std::prev(range.second)->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  std::vector<std::string> out;
  auto range = values_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    out.push_back(it->second);
  }
  return out;
}

bool Args::has(const std::string& name) const { return values_.count(name) != 0; }

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream out;
    out << std::cin.rdbuf();
    return out.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(path + ": cannot read: " + std::strerror(errno));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace sigv4::cli
