#pragma once

#include <cstdint>

namespace sigv4::server {

// The process's descriptor limit (RLIMIT_NOFILE), before and after raise_fd_limit().
struct FdLimit {
  std::uint64_t before = 0;  // the soft limit the process started with
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
};

// Raises the soft descriptor limit to the hard one (to the kernel's nr_open when the hard limit
// is unlimited): the soft default of 1024 is a relic of select(), and a server below its
// --max-connections runs out of descriptors before it reaches its cap. Returns the figures; the
// soft limit stays where it was when it cannot be raised.
FdLimit raise_fd_limit();

}  // namespace sigv4::server
