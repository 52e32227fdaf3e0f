#include "args.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <vector>

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

namespace {

// Read a chunk at a time, so refusing an oversized stream costs the limit, not the stream.
constexpr std::size_t kChunkBytes = 64 * 1024;
// A stream of unknown size gets this much address space up front (only what is read becomes
// resident), so reading up to the default limit never copies the text to grow it.
constexpr std::size_t kStreamReserveBytes = std::size_t{64} << 20;

std::runtime_error too_large(const std::string& name, std::size_t limit) {
  std::string size = std::to_string(limit) + " bytes";
  if (limit % (std::size_t{1} << 20) == 0) {
    size += " (" + std::to_string(limit >> 20) + " MiB)";
  }
  return std::runtime_error(name + ": input larger than the limit of " + size +
                            "; raise it with --max-input-bytes");
}

// Closes a file descriptor we opened when it goes out of scope.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd > STDIN_FILENO) {
      ::close(fd);
    }
  }
};

std::string read_bounded(int fd, const std::string& name, std::size_t limit) {
  std::string text;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    if (static_cast<std::uintmax_t>(info.st_size) > limit) {
      throw too_large(name, limit);
    }
    text.reserve(static_cast<std::size_t>(info.st_size));
  } else {
    text.reserve(std::min(limit, kStreamReserveBytes));
  }
  std::vector<char> chunk(kChunkBytes);
  for (;;) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      throw std::runtime_error(name + ": cannot read: " + std::strerror(errno));
    }
    if (got == 0) {
      return text;
    }
    if (static_cast<std::size_t>(got) > limit - text.size()) {
      throw too_large(name, limit);
    }
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
}

}  // namespace

std::string read_input(const std::string& path, std::size_t limit) {
  if (path == "-") {
    return read_bounded(STDIN_FILENO, "<stdin>", limit);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error(path + ": cannot read: " + std::strerror(errno));
  }
  FdCloser closer{fd};
  return read_bounded(fd, path, limit);
}

std::size_t max_input_bytes(const Args& args) {
  const auto text = args.get("max-input-bytes");
  if (!text) {
    return kDefaultMaxInputBytes;
  }
  std::size_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, error] = std::from_chars(text->data(), end, value);
  if (text->empty() || error != std::errc() || ptr != end || value == 0) {
    throw UsageError("--max-input-bytes: expected a positive number of bytes, got \"" + *text +
                     "\"");
  }
  return value;
}

}  // namespace sigv4::cli
