#include "json_tree.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace sigv4 {

void JsonTree::add(Json value) {
  if (frames_.empty()) {
    root_ = std::move(value);
  } else {
    items_.emplace_back(std::move(key_), std::move(value));
    key_.clear();
  }
}

void JsonTree::open() {
  frames_.push_back({items_.size(), std::move(key_)});
  key_.clear();
}

Json JsonTree::close_array() {
  const std::size_t start = frames_.back().start;
  Json out(Json::value_t::array);
  auto& array = out.get_ref<Json::array_t&>();
  array.reserve(items_.size() - start);
  for (std::size_t i = start; i < items_.size(); ++i) {
    array.push_back(std::move(items_[i].second));
  }
  pop(start);
  return out;
}

Json JsonTree::close_object() {
  const std::size_t start = frames_.back().start;
  const std::size_t count = items_.size() - start;
  Json out(Json::value_t::object);
  auto& map = out.get_ref<Json::object_t&>();
  map.reserve(count);
  // The index views the keys already stored in `map`, which the reserve above keeps in place.
  std::unordered_map<std::string_view, std::size_t> index;
  const bool indexed = count > kDuplicateScanLimit;
  if (indexed) {
    index.reserve(count);
  }
  for (std::size_t i = start; i < items_.size(); ++i) {
    auto& [k, v] = items_[i];
    std::size_t position = map.size();
    if (indexed) {
      if (auto it = index.find(k); it != index.end()) {
        position = it->second;
      }
    } else {
      auto same =
          std::find_if(map.begin(), map.end(), [&k = k](const auto& m) { return m.first == k; });
      position = static_cast<std::size_t>(same - map.begin());
    }
    if (position < map.size()) {
      (map.begin() + static_cast<std::ptrdiff_t>(position))->second = std::move(v);
    } else {
      map.emplace_back(std::move(k), std::move(v));
      if (indexed) {
        index.emplace(map.back().first, position);
      }
    }
  }
  pop(start);
  return out;
}

void JsonTree::pop(std::size_t start) {
  items_.resize(start);
  key_ = std::move(frames_.back().key);
  frames_.pop_back();
}

}  // namespace sigv4
