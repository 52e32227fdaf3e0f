#include "json_doc.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "json_text.h"
#include "json_tree.h"

namespace sigv4 {
const char* JsonNode::type_name() const {
  switch (type_) {
    case Type::kNull:
      return "null";
    case Type::kBoolean:
      return "boolean";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
    default:
      return "number";
  }
}

std::int64_t JsonNode::integer() const {
  if (type_ == Type::kInteger) {
    return value_.integer;
  }
  return type_ == Type::kUnsigned ? static_cast<std::int64_t>(value_.unsigned_integer) : 0;
}

const JsonNode* JsonNode::find(std::string_view key) const {
  if (type_ != Type::kObject) {
    return nullptr;
  }
  if (value_.index != nullptr) {
    const std::uint32_t* const first = value_.index;
    const std::uint32_t* const last = first + size_;
    const std::uint32_t* at =
        std::lower_bound(first, last, key, [this](std::uint32_t offset, std::string_view k) {
          return key_less(this[offset].key_, k);
        });
    if (at == last || !key_equal(this[*at].key_, key)) {
      return nullptr;
    }
    const JsonNode* member = this + *at;
    return member + member->alias_;
  }
  const JsonNode* child = this + 1;
  for (std::uint32_t i = 0; i < count_; ++i, child += child->span_) {
    if (!child->hidden_ && key_equal(child->key_, key)) {
      return child + child->alias_;
    }
  }
  return nullptr;
}

const JsonNode& JsonNode::front() const { return empty() ? null_node() : *begin(); }

const JsonNode& null_node() {
  static const JsonNode kNull;
  return kNull;
}

const JsonNode& field(const JsonNode& obj, std::string_view key) {
  const JsonNode* value = obj.find(key);
  return value != nullptr ? *value : null_node();
}

std::string_view string_field(const JsonNode& obj, std::string_view key) {
  return field(obj, key).string();
}

JsonDoc::JsonDoc() : nodes_(1) {}

JsonDoc JsonDoc::from_json(const Json& value) {
  JsonDocBuilder builder;
  // Recursive: the trees handed in come from the depth-limited readers.
  auto add = [&builder](const auto& self, const Json& v) -> void {
    switch (v.type()) {
      case Json::value_t::object:
        builder.open_object();
        for (const auto& [key, member] : v.items()) {
          builder.key(key, false);
          self(self, member);
        }
        builder.close_object();
        return;
      case Json::value_t::array:
        builder.open_array();
        for (const auto& item : v) {
          self(self, item);
        }
        builder.close_array();
        return;
      case Json::value_t::string:
        builder.string(v.get_ref<const std::string&>(), false);
        return;
      case Json::value_t::boolean:
        builder.boolean(v.get<bool>());
        return;
      case Json::value_t::number_integer:
        builder.integer(v.get<Json::number_integer_t>());
        return;
      case Json::value_t::number_unsigned:
        builder.unsigned_integer(v.get<Json::number_unsigned_t>());
        return;
      case Json::value_t::number_float:
        builder.real(v.get<double>());
        return;
      default:  // null, and the binary and discarded values no reader makes
        builder.null();
        return;
    }
  };
  add(add, value);
  return builder.take();
}

Json to_json(const JsonNode& value) {
  switch (value.type()) {
    case JsonNode::Type::kObject: {
      Json out(Json::value_t::object);
      auto& members = out.get_ref<Json::object_t&>();
      members.reserve(value.size());
      for (const JsonNode& member : value) {
        members.emplace_back(std::string(member.key()), to_json(member));
      }
      return out;
    }
    case JsonNode::Type::kArray: {
      Json out(Json::value_t::array);
      auto& items = out.get_ref<Json::array_t&>();
      items.reserve(value.size());
      for (const JsonNode& item : value) {
        items.push_back(to_json(item));
      }
      return out;
    }
    case JsonNode::Type::kString:
      return Json(std::string(value.string()));
    case JsonNode::Type::kBoolean:
      return Json(value.boolean());
    case JsonNode::Type::kInteger:
      return Json(static_cast<Json::number_integer_t>(value.integer()));
    case JsonNode::Type::kUnsigned:
      return Json(static_cast<Json::number_unsigned_t>(value.unsigned_integer()));
    case JsonNode::Type::kFloat:
      return Json(value.real());
    default:
      return Json(nullptr);
  }
}

void append_json_text(std::string& out, const JsonNode& value) {
  switch (value.type()) {
    case JsonNode::Type::kObject:
      append_joined(
          out, '{', value,
          [&out](const JsonNode& member) {
            append_json_string(out, member.key());
            out += ':';
            append_json_text(out, member);
          },
          '}');
      return;
    case JsonNode::Type::kArray:
      append_joined(
          out, '[', value, [&out](const JsonNode& item) { append_json_text(out, item); }, ']');
      return;
    case JsonNode::Type::kString:
      append_json_string(out, value.string());
      return;
    case JsonNode::Type::kBoolean:
      out += value.boolean() ? "true" : "false";
      return;
    case JsonNode::Type::kInteger:
      out += std::to_string(value.integer());
      return;
    case JsonNode::Type::kUnsigned:
      out += std::to_string(value.unsigned_integer());
      return;
    case JsonNode::Type::kFloat:  // nlohmann's own formatting of doubles
      out += Json(value.real()).dump();
      return;
    default:
      out += "null";
      return;
  }
}

JsonDocBuilder::JsonDocBuilder(std::size_t expected_nodes) {
  doc_.nodes_.clear();
  doc_.nodes_.reserve(expected_nodes);
  open_.reserve(16);
}

std::string_view JsonDocBuilder::keep(std::string_view s, bool stable) {
  if (stable || s.empty()) {
    return s;
  }
  auto copy = std::make_unique<char[]>(s.size());
  std::memcpy(copy.get(), s.data(), s.size());
  doc_.strings_.push_back(std::move(copy));
  return {doc_.strings_.back().get(), s.size()};
}

void JsonDocBuilder::key(std::string_view k, bool stable) { key_ = keep(k, stable); }

JsonNode& JsonDocBuilder::push(JsonNode::Type type) {
  if (doc_.nodes_.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("JSON document of more than 2^32 values");
  }
  if (!open_.empty()) {
    ++doc_.nodes_[open_.back()].count_;
  }
  JsonNode& node = doc_.nodes_.emplace_back();
  node.type_ = type;
  node.key_ = key_;
  key_ = {};
  return node;
}

void JsonDocBuilder::null() { push(JsonNode::Type::kNull); }

void JsonDocBuilder::boolean(bool b) { push(JsonNode::Type::kBoolean).value_.boolean = b; }

void JsonDocBuilder::integer(std::int64_t i) { push(JsonNode::Type::kInteger).value_.integer = i; }

void JsonDocBuilder::unsigned_integer(std::uint64_t u) {
  push(JsonNode::Type::kUnsigned).value_.unsigned_integer = u;
}

void JsonDocBuilder::real(double d) { push(JsonNode::Type::kFloat).value_.real = d; }

void JsonDocBuilder::string(std::string_view s, bool stable) {
  const std::string_view kept = keep(s, stable);
  push(JsonNode::Type::kString).value_.string = kept;
}

void JsonDocBuilder::open(JsonNode::Type type) {
  JsonNode& node = push(type);
  if (type == JsonNode::Type::kObject) {
    node.value_.index = nullptr;  // until close_object() finds it large
  }
  open_.push_back(static_cast<std::uint32_t>(doc_.nodes_.size() - 1));
}

void JsonDocBuilder::close_array() {
  JsonNode& array = doc_.nodes_[open_.back()];
  array.span_ = static_cast<std::uint32_t>(doc_.nodes_.size() - open_.back());
  array.size_ = array.count_;
  open_.pop_back();
}

void JsonDocBuilder::close_object() {
  const std::uint32_t at = open_.back();
  open_.pop_back();
  JsonNode* const object = &doc_.nodes_[at];
  object->span_ = static_cast<std::uint32_t>(doc_.nodes_.size() - at);
  // Duplicate keys: each later copy is hidden and its first copy points to the last, which is
  // nlohmann's first position, last value.
  if (object->count_ <= kDuplicateScanLimit) {
    std::uint32_t size = 0;
    JsonNode* child = object + 1;
    for (std::uint32_t i = 0; i < object->count_; ++i, child += child->span_) {
      JsonNode* same = nullptr;
      for (JsonNode* seen = object + 1; seen != child; seen += seen->span_) {
        if (!seen->hidden_ && key_equal(seen->key_, child->key_)) {
          same = seen;
          break;
        }
      }
      if (same != nullptr) {
        same->alias_ = static_cast<std::uint32_t>(child - same);
        child->hidden_ = true;
      } else {
        ++size;
      }
    }
    object->size_ = size;
    return;
  }
  index_members(object);
}

void JsonDocBuilder::index_members(JsonNode* object) {
  // The members' keys sorted (views with offsets: sorting moves no node), then one run per
  // distinct key: its first position stays visible and points to its last value.
  keys_.clear();
  keys_.reserve(object->count_);
  JsonNode* child = object + 1;
  for (std::uint32_t i = 0; i < object->count_; ++i, child += child->span_) {
    keys_.push_back({child->key_, static_cast<std::size_t>(child - object)});
  }
  sort_keys(keys_);
  auto index = std::make_unique<std::uint32_t[]>(keys_.size());
  std::uint32_t size = 0;
  for_each_run(keys_, [object, &index, &size](const KeyAt* first, const KeyAt* last) {
    JsonNode* const visible = object + first->at;
    visible->alias_ = static_cast<std::uint32_t>((last - 1)->at - first->at);
    for (const KeyAt* later = first + 1; later != last; ++later) {
      object[later->at].hidden_ = true;
    }
    index[size++] = static_cast<std::uint32_t>(first->at);
  });
  object->size_ = size;
  object->value_.index = index.get();
  doc_.indexes_.push_back(std::move(index));
}

JsonDoc JsonDocBuilder::take() {
  if (doc_.nodes_.empty()) {
    doc_.nodes_.emplace_back();
  }
  return std::move(doc_);
}

}  // namespace sigv4
