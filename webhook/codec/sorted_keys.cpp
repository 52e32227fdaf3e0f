#include "sorted_keys.h"

#include <algorithm>
#include <utility>

namespace sigv4 {

void sort_keys(std::vector<KeyAt>& keys) {
  // Stable (a merge sort), which also bounds the cost of long keys: each comparison moves one
  // key to its place, so a pass costs at most the keys' total length.
  std::stable_sort(keys.begin(), keys.end(),
                   [](const KeyAt& a, const KeyAt& b) { return key_less(a.key, b.key); });
}

StringSet::StringSet(std::vector<std::string_view> items) : items_(std::move(items)) {
  std::stable_sort(items_.begin(), items_.end(),
                   [](std::string_view a, std::string_view b) { return key_less(a, b); });
}

bool StringSet::contains(std::string_view s) const {
  const auto it =
      std::lower_bound(items_.begin(), items_.end(), s,
                       [](std::string_view a, std::string_view b) { return key_less(a, b); });
  return it != items_.end() && key_equal(*it, s);
}

bool StringSet::contains_prefixed(std::string_view prefix) const {
  // The items starting with `prefix` sort together, first among those not less than it.
  const auto it =
      std::lower_bound(items_.begin(), items_.end(), prefix,
                       [](std::string_view a, std::string_view b) { return key_less(a, b); });
  return it != items_.end() && key_equal(it->substr(0, prefix.size()), prefix);
}

}  // namespace sigv4
