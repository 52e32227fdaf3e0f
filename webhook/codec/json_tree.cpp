#include "json_tree.h"

#include <algorithm>

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
  if (count <= kDuplicateScanLimit) {
    for (std::size_t i = start; i < items_.size(); ++i) {
      auto& [k, v] = items_[i];
      auto same = std::find_if(map.begin(), map.end(),
                               [&k = k](const auto& m) { return key_equal(m.first, k); });
      if (same != map.end()) {
        same->second = std::move(v);
      } else {
        map.emplace_back(std::move(k), std::move(v));
      }
    }
  } else {
    // Each run of a duplicated key among the sorted keys: its first position takes its last
    // value, the later copies are dropped.
    constexpr std::size_t kHidden = static_cast<std::size_t>(-1);
    keys_.clear();
    keys_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      keys_.push_back({items_[start + i].first, i});
    }
    sort_keys(keys_);
    source_.assign(count, kHidden);
    for_each_run(keys_, [this](const KeyAt* first, const KeyAt* last) {
      source_[first->at] = (last - 1)->at;
    });
    for (std::size_t i = 0; i < count; ++i) {
      if (source_[i] != kHidden) {
        map.emplace_back(std::move(items_[start + i].first),
                         std::move(items_[start + source_[i]].second));
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
