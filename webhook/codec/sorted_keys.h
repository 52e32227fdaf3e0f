#pragma once

// Lookups over untrusted strings that cost O(n log n) comparisons whatever the strings are:
// views sorted once, then binary searches. A hash index under a fixed hash (std::hash is
// murmur with a constant seed) lets a pod author choose keys that all collide, and a nested
// loop is quadratic by construction: either let one 4 MiB review cost seconds of CPU.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sigv4 {

// The string comparisons made on this thread by the core's lookups: these sorts and searches,
// and the key scans of small JSON objects. Tests read it to show that the work grows as
// n log n for any input, which a clock could not show reliably; nothing in the product does.
inline thread_local std::uint64_t lookup_comparisons = 0;

inline bool key_less(std::string_view a, std::string_view b) {
  ++lookup_comparisons;
  return a < b;
}

inline bool key_equal(std::string_view a, std::string_view b) {
  ++lookup_comparisons;
  return a == b;
}

// Objects up to this many members (nearly all of a pod) find duplicate keys, and keys, by
// scanning their members; larger ones through their keys sorted.
inline constexpr std::size_t kDuplicateScanLimit = 32;

// A key and where it is (an index or offset, as the caller likes).
struct KeyAt {
  std::string_view key;
  std::size_t at;
};

// Sorts `keys`, given in document order, by key; equal keys keep their order, so that each run
// of a duplicated key starts at its first position and ends at its last. A merge sort: about
// n log n comparisons, each costing at most the shorter key.
void sort_keys(std::vector<KeyAt>& keys);

// Calls `visit(first, last)` for each run [first, last) of equal keys in sorted `keys`.
template <class Visit>
void for_each_run(const std::vector<KeyAt>& keys, Visit visit) {
  for (std::size_t run = 0; run < keys.size();) {
    std::size_t end = run + 1;
    while (end < keys.size() && key_equal(keys[end].key, keys[run].key)) {
      ++end;
    }
    visit(keys.data() + run, keys.data() + end);
    run = end;
  }
}

// Strings viewed elsewhere (they must outlive the set), sorted once: each query is then a
// binary search, so n queries over n strings cost n log n comparisons.
class StringSet {
 public:
  explicit StringSet(std::vector<std::string_view> items);
  // Whether an item equals `s`.
  bool contains(std::string_view s) const;
  // Whether an item starts with `prefix`.
  bool contains_prefixed(std::string_view prefix) const;

 private:
  std::vector<std::string_view> items_;
};

}  // namespace sigv4
