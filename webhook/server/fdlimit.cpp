#include "server/fdlimit.h"

#include <sys/resource.h>

#include <fstream>

namespace sigv4::server {
namespace {

// The most descriptors a process may have (fs.nr_open), for an unlimited hard limit.
rlim_t nr_open() {
  std::ifstream file("/proc/sys/fs/nr_open");
  std::uint64_t value = 0;
  if (file >> value && value > 0) {
    return static_cast<rlim_t>(value);
  }
  return 1024 * 1024;  // the kernel's default
}

}  // namespace

FdLimit raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return {};
  }
  FdLimit result{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
  const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? nr_open() : limit.rlim_max;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) {
    return result;
  }
  rlimit raised{wanted, limit.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    result.soft = wanted;
  }
  return result;
}

}  // namespace sigv4::server
