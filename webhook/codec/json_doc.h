#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "sorted_keys.h"

namespace sigv4 {

// A read-only JSON value inside a JsonDoc: what the webhook reads a review through. The nodes of
// a document sit in one vector in document order, each container followed by its subtree, and
// strings view the text they were parsed from: parsing a review allocates a handful of times
// instead of once or twice per value (nlohmann's tree: every object, array and string on the
// heap, then each freed), which was most of a review's cost.
//
// Objects follow nlohmann's rule for duplicate keys (first position, last value) in lookups,
// iteration and text, so a review reads the same through either. An object of more than
// kDuplicateScanLimit members keeps its keys sorted (offsets of its members): resolving its
// duplicates and each lookup cost O(log n) comparisons a key, whatever the keys (a hash index
// did too, until keys were chosen to collide). Nodes are used by reference (`const JsonNode&`):
// a container's members are the nodes after it in its document, so a copy of a node would not
// carry them.
class JsonNode {
 public:
  enum class Type : std::uint8_t {
    kNull,
    kBoolean,
    kInteger,
    kUnsigned,
    kFloat,
    kString,
    kArray,
    kObject
  };

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_boolean() const { return type_ == Type::kBoolean; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  bool is_number_integer() const { return type_ == Type::kInteger || type_ == Type::kUnsigned; }
  // nlohmann's name for the type ("null", "boolean", "number", "string", "array", "object").
  const char* type_name() const;

  // The value when of that type, else false, 0 or "". An unsigned integer reads as int64_t
  // through a cast, as nlohmann's get<int64_t>() gives it.
  bool boolean() const { return type_ == Type::kBoolean && value_.boolean; }
  std::int64_t integer() const;
  std::string_view string() const { return type_ == Type::kString ? value_.string : ""; }
  double real() const { return type_ == Type::kFloat ? value_.real : 0; }
  std::uint64_t unsigned_integer() const {
    return is_number_integer() ? value_.unsigned_integer : 0;
  }

  // The key this value is under, when it is a member of an object.
  std::string_view key() const { return key_; }

  // Members of an object (counting a duplicated key once) or items of an array; 0 otherwise.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The member `key` of an object, or nullptr (also when this is not an object). A binary
  // search in a large object, a scan of at most kDuplicateScanLimit members otherwise.
  const JsonNode* find(std::string_view key) const;

  // The values of an array's items or an object's members in order (each member's key() names
  // it); nothing for other types.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = JsonNode;
    using difference_type = std::ptrdiff_t;
    using pointer = const JsonNode*;
    using reference = const JsonNode&;

    Iterator() = default;
    const JsonNode& operator*() const { return *(at_ + at_->alias_); }
    const JsonNode* operator->() const { return at_ + at_->alias_; }
    Iterator& operator++() {
      at_ += at_->span_;
      --left_;
      skip_hidden();
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Iterator& other) const { return left_ == other.left_; }

   private:
    friend class JsonNode;
    Iterator(const JsonNode* at, std::uint32_t left) : at_(at), left_(left) { skip_hidden(); }
    // Past the later copies of duplicated keys (they are read through the first).
    void skip_hidden() {
      while (left_ != 0 && at_->hidden_) {
        at_ += at_->span_;
        --left_;
      }
    }
    const JsonNode* at_ = nullptr;
    std::uint32_t left_ = 0;  // children left (duplicates included), this one included
  };
  Iterator begin() const { return Iterator(this + 1, count_); }
  Iterator end() const { return Iterator(this + span_, 0); }
  // The first item or member (the null node when empty).
  const JsonNode& front() const;

 private:
  friend class JsonDoc;
  friend class JsonDocBuilder;

  std::string_view key_;
  union Value {
    bool boolean;
    std::int64_t integer;
    std::uint64_t unsigned_integer;
    double real;
    std::string_view string;
    // An object's: its members' offsets (distinct keys, sorted by key), or null for an object
    // of at most kDuplicateScanLimit members.
    const std::uint32_t* index;
  } value_{.unsigned_integer = 0};
  std::uint32_t span_ = 1;   // nodes in this subtree, itself included
  std::uint32_t size_ = 0;   // children counted once per key
  std::uint32_t count_ = 0;  // children, duplicates included
  std::uint32_t alias_ = 0;  // a duplicated key's first copy: the offset of its last copy
  Type type_ = Type::kNull;
  bool hidden_ = false;  // a later copy of a duplicated key
};

// A parsed document: its nodes, and the strings that could not view the source text (those
// with escapes). A document parsed from text views that text, which must outlive it.
class JsonDoc {
 public:
  JsonDoc();  // the document `null`
  const JsonNode& root() const { return nodes_.front(); }

  // A document holding a copy of `value` (its strings copied), for callers that have a tree.
  static JsonDoc from_json(const Json& value);

 private:
  friend class JsonDocBuilder;
  std::vector<JsonNode> nodes_;
  std::vector<std::unique_ptr<char[]>> strings_;
  std::vector<std::unique_ptr<std::uint32_t[]>> indexes_;  // the large objects' sorted keys
};

// The null node, for lookups that find nothing.
const JsonNode& null_node();

// Tolerant reading, as for a Json (json.h): obj's member `key`, else the null node (also when
// obj is not an object); that member as a string when it is one, else "".
const JsonNode& field(const JsonNode& obj, std::string_view key);
std::string_view string_field(const JsonNode& obj, std::string_view key);

// The value as a nlohmann tree (the same tree nlohmann's parser gives for the same text).
Json to_json(const JsonNode& value);

// Appends the value's compact JSON text, byte for byte what append_json_text writes for
// to_json(value).
void append_json_text(std::string& out, const JsonNode& value);

// Builds a JsonDoc from parse events, in document order (the parser's sink).
class JsonDocBuilder {
 public:
  explicit JsonDocBuilder(std::size_t expected_nodes = 64);

  // The key of the next value (inside an object). `stable`: the text outlives the document, so
  // it is viewed rather than copied.
  void key(std::string_view k, bool stable);
  void null();
  void boolean(bool b);
  void integer(std::int64_t i);
  void unsigned_integer(std::uint64_t u);
  void real(double d);
  void string(std::string_view s, bool stable);
  void open_object() { open(JsonNode::Type::kObject); }
  void open_array() { open(JsonNode::Type::kArray); }
  void close_object();
  void close_array();
  JsonDoc take();

 private:
  JsonNode& push(JsonNode::Type type);
  void open(JsonNode::Type type);
  // Resolves the duplicate keys of an object of more than kDuplicateScanLimit members through
  // its keys sorted, and keeps them as its index.
  void index_members(JsonNode* object);
  std::string_view keep(std::string_view s, bool stable);

  JsonDoc doc_;
  std::vector<std::uint32_t> open_;  // indices of the open containers, innermost last
  std::string_view key_;
  std::vector<KeyAt> keys_;  // close_object()'s scratch for a large object's keys
};

}  // namespace sigv4
