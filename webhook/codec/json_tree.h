#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "json.h"
#include "sorted_keys.h"

namespace sigv4 {

// Assembles a Json tree from a stream of parse events (the JSON SAX parser's and the YAML
// reader's). Unlike nlohmann's own DOM parser, which grows every object one key at a time (an
// ordered_map's reallocation copies each `const` key), members wait on a stack until their
// container closes, which then gets its exact size at once. Duplicate keys keep nlohmann's rule:
// first position, last value. Objects of more than kDuplicateScanLimit members find them by
// sorting their keys (sorted_keys.h), so neither an object of 300,000 keys nor keys chosen to
// collide in a hash cost more than n log n comparisons. JsonTree and JsonDocBuilder both resolve
// duplicates this way, each on its own storage.
class JsonTree {
 public:
  // Room for the members pending along a pod's deepest path, so the stacks do not grow (moving
  // every pending member) a dozen times per parse.
  JsonTree() {
    items_.reserve(64);
    frames_.reserve(16);
  }

  // The key the next value or container goes under (inside an object).
  void key(std::string k) { key_ = std::move(k); }
  // A complete value: the root, a member of the open object, or an item of the open array.
  void add(Json value);
  // Opens a container; close_object()/close_array() return it, for the caller to add().
  void open();
  Json close_object();
  Json close_array();
  Json take() { return std::move(root_); }

 private:
  void pop(std::size_t start);

  struct Frame {
    std::size_t start;  // index in items_ of the container's first member
    std::string key;    // the key the container itself goes under in its parent
  };
  std::vector<std::pair<std::string, Json>> items_;
  std::vector<Frame> frames_;
  std::string key_;
  // Scratch of close_object() for large objects: their keys sorted, and for each member the
  // member whose value it takes (its key's last copy), or kHidden for a later copy.
  std::vector<KeyAt> keys_;
  std::vector<std::size_t> source_;
  Json root_;
};

}  // namespace sigv4
