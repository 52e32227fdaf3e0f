#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "json.h"

namespace sigv4 {

// Assembles a Json tree from a stream of parse events (the JSON SAX parser's and the YAML
// reader's). Unlike nlohmann's own DOM parser, which grows every object one key at a time (an
// ordered_map's reallocation copies each `const` key), members wait on a stack until their
// container closes, which then gets its exact size at once. Duplicate keys keep nlohmann's rule:
// first position, last value; large objects find them through a hash index, so an object of
// 300,000 keys is not 10^10 comparisons.
// Objects up to this many members (nearly all of a pod) look for duplicate keys by scanning the
// members before; larger ones through a hash index. JsonTree and JsonDocBuilder both resolve
// duplicates this way (first position, last value), each on its own storage.
inline constexpr std::size_t kDuplicateScanLimit = 32;

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
  std::size_t depth() const { return frames_.size(); }
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
  Json root_;
};

}  // namespace sigv4
