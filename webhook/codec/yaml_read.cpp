// The YAML reader: yaml-cpp's parser drives an event handler that builds JSON directly. Going
// through events (not YAML::LoadAll's node graph) lets the reader bound alias expansion by what
// it really builds, expand merge keys (<<) as kubectl's YAML library does, keep large maps linear,
// and stop on the inputs that send YAML::LoadAll into an endless loop (yaml-cpp 0.7: `"s", b]`).
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "errors.h"
#include "json_tree.h"
#include "utf8.h"
#include "yaml.h"

namespace sigv4::yaml {
namespace {

// Bounds that keep hostile YAML (alias bombs, deep nesting) from exhausting memory or stack: a
// million values is some 100 MB of JSON, far past any real manifest.
constexpr std::size_t kMaxNodes = 1'000'000;
constexpr std::size_t kMaxAliasBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxDepth = 512;

std::string line_of(const YAML::Mark& mark, std::size_t first_line) {
  return "line " + std::to_string(static_cast<std::size_t>(mark.line) + first_line + 1);
}

// YAML's printable characters (what kubectl's YAML library accepts in a stream): tab, line
// breaks, and Unicode past the C0/C1 controls, less the surrogates, U+FFFE and U+FFFF.
bool printable(char32_t cp) {
  return cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 ||
         (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
         (cp >= 0x10000 && cp <= 0x10ffff);
}

// Refuses text that is not printable UTF-8 before yaml-cpp sees it: yaml-cpp would otherwise
// guess UTF-16 from NUL bytes and replace what it cannot decode, changing the documents.
void check_text(std::string_view text, const std::string& source, std::size_t first_line) {
  std::size_t line = first_line + 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    std::size_t length = next_code_point(text, i, cp);
    auto where = [&] {
      return source + ": line " + std::to_string(line) + ", column " + std::to_string(column);
    };
    if (length == 0) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[i]));
      throw InputError(where(), std::string("not valid UTF-8 (byte ") + byte + ")");
    }
    if (!printable(cp) && !(cp == 0xfeff && i == 0)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04lX", static_cast<unsigned long>(cp));
      throw InputError(where(), std::string("character ") + code +
                                    " is not allowed in YAML (write it as an escape in a "
                                    "double-quoted string)");
    }
    if (cp == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
}

// What an alias copies: the anchored value and what it cost to build.
struct Anchored {
  Json value;
  std::size_t nodes = 0;
  std::size_t bytes = 0;
  std::size_t depth = 0;
  bool scalar = false;
  std::string text;  // a scalar's text as written, for an alias used as a key
  std::string tag;   // and its tag
};

class Builder : public YAML::EventHandler {
 public:
  Builder(std::string source, std::size_t first_document, std::size_t first_line)
      : source_(std::move(source)), first_document_(first_document), first_line_(first_line) {}

  // The documents read so far (empty ones dropped).
  std::vector<Json>& documents() { return documents_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 can hand out documents forever without consuming a token it cannot place.
    if (started_ && mark.pos <= last_start_) {
      throw InputError(source_ + ": " + line_of(mark, first_line_),
                       "not valid YAML: unexpected content");
    }
    started_ = true;
    last_start_ = mark.pos;
    anchors_.clear();  // anchors do not reach across documents
    document_ = first_document_ + started_documents_++;
  }

  void OnDocumentEnd() override {
    Json doc = tree_.take();
    if (!doc.is_null()) {
      documents_.push_back(std::move(doc));
    }
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (want_key()) {
      throw InputError(where(mark), "a null mapping key, which kubectl refuses (quote it)");
    }
    count(0);
    remember(anchor, Json(nullptr), 1, 0, 0, true, "", "?");
    value(mark, Json(nullptr));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw InputError(where(mark), "an alias refers to the node that holds it");
    }
    const Anchored& a = it->second;
    if (want_key()) {
      if (!a.scalar) {
        throw InputError(where(mark), "mapping keys must be strings");
      }
      if (a.tag == "?" && a.text == "<<") {
        key("<<", "!");  // an alias is never a merge key
      } else {
        key_scalar(mark, a.text, a.tag);
      }
      return;
    }
    nodes_ += a.nodes;
    alias_bytes_ += a.bytes;
    if (nodes_ > kMaxNodes) {
      throw InputError(source_,
                       "more than " + std::to_string(kMaxNodes) + " values (alias expansion?)");
    }
    if (alias_bytes_ > kMaxAliasBytes) {
      throw InputError(source_, "aliases expand to more than " +
                                    std::to_string(kMaxAliasBytes >> 20) + " MiB of text");
    }
    if (frames_.size() + a.depth > kMaxDepth) {
      throw InputError(where(mark), "nested deeper than " + std::to_string(kMaxDepth));
    }
    if (!frames_.empty()) {
      frames_.back().depth = std::max(frames_.back().depth, a.depth);
    }
    value(mark, a.value);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    if (!valid_utf8(text)) {  // escapes like "\ud800" decode to invalid UTF-8
      throw InputError(where(mark), "not valid UTF-8");
    }
    if (want_key()) {
      remember(anchor, Json(text), 1, text.size(), 0, true, text, tag);
      key_scalar(mark, text, tag);
      return;
    }
    count(text.size());
    Scalar r = tagged_scalar(tag, text, where(mark));
    if (r.value.is_number_float() && !std::isfinite(r.value.get<double>())) {
      throw InputError(where(mark), "JSON cannot hold " + text);
    }
    Json v = std::move(r.value);
    remember(anchor, v, 1, text.size(), 0, true, text, tag);
    value(mark, std::move(v));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(tree_.close_array()); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override {
    Json object = tree_.close_object();
    merge(object, frames_.back());
    close(std::move(object));
  }

 private:
  struct Frame {
    bool map = false;
    bool want_key = true;       // a map's next node is a key
    bool merge_next = false;    // a map's next value is that of a merge key (<<)
    std::vector<Json> merges;   // the mappings merged in, earlier ones first
    YAML::anchor_t anchor = 0;  // the container's own anchor, stored when it closes
    std::size_t nodes_at_open = 0;
    std::size_t bytes_at_open = 0;
    std::size_t depth = 0;  // the deepest nesting below the container
    std::size_t items = 0;  // a sequence's items so far
    std::string key;        // a map's current key
    std::string path;       // the container's path, for errors
    YAML::Mark mark;
    // Keys that are or could be converted scalars (1, true, 1.5), with what they read as. Ordered
    // (not hashed): the keys are the input's, and a hash table's cost can be made quadratic.
    std::map<std::string, std::pair<ScalarKind, Json>, std::less<>> typed_keys;
  };

  bool want_key() const {
    return !frames_.empty() && frames_.back().map && frames_.back().want_key;
  }

  // The path of the node about to be added, for errors: `spec.containers[0].name`.
  std::string path() const {
    if (frames_.empty()) {
      return "";
    }
    const Frame& f = frames_.back();
    if (!f.map) {
      return f.path + "[" + std::to_string(f.items) + "]";
    }
    if (f.want_key) {
      return f.path;
    }
    return f.path.empty() ? f.key : f.path + "." + f.key;
  }

  std::string where(const YAML::Mark& mark) const {
    std::string p = path();
    return source_ + ": document " + std::to_string(document_) + ": " + line_of(mark, first_line_) +
           (p.empty() ? "" : ": " + p);
  }

  void count(std::size_t bytes) {
    ++nodes_;
    bytes_ += bytes;
    if (nodes_ > kMaxNodes) {
      throw InputError(source_, "more than " + std::to_string(kMaxNodes) + " values");
    }
  }

  void remember(YAML::anchor_t anchor, Json value, std::size_t nodes, std::size_t bytes,
                std::size_t depth, bool scalar, const std::string& text,
                const std::string& tag = "") {
    if (anchor != 0) {
      anchors_[anchor] = Anchored{std::move(value), nodes, bytes, depth, scalar, text, tag};
    }
  }

  // A scalar key as sigs.k8s.io/yaml makes it: int, float and bool keys become strings, null and
  // unsigned keys are refused. Two keys that read differently but become the same string are
  // refused too: kubectl keeps one of them at random.
  void key_scalar(const YAML::Mark& mark, const std::string& text, const std::string& tag) {
    Scalar r = tagged_scalar(tag, text, where(mark));
    std::string k;
    switch (r.kind) {
      case ScalarKind::kNull:
        throw InputError(where(mark), "a null mapping key, which kubectl refuses (quote it)");
      case ScalarKind::kUint:
        throw InputError(where(mark), "the mapping key " + text +
                                          " is past int64, which kubectl refuses (quote it)");
      case ScalarKind::kBool:
        k = r.value.get<bool>() ? "true" : "false";
        break;
      case ScalarKind::kInt:
        k = std::to_string(r.value.get<long long>());
        break;
      case ScalarKind::kFloat:
        k = go_float32_key(r.number);
        break;
      default:
        k = r.value.get<std::string>();
    }
    if (r.kind == ScalarKind::kStr || r.kind == ScalarKind::kTimestamp) {
      if (!looks_converted(k)) {
        key(k, tag);
        return;
      }
      r.kind = ScalarKind::kStr;
      r.value = k;
    }
    auto& seen = frames_.back().typed_keys;
    auto [it, inserted] = seen.try_emplace(k, r.kind, r.value);
    if (!inserted && (it->second.first != r.kind || it->second.second != r.value)) {
      throw InputError(where(mark), "the keys " + k +
                                        " here read as different values that both become \"" + k +
                                        "\"; kubectl keeps one at random (quote them)");
    }
    key(k, r.kind == ScalarKind::kStr ? tag : "!");
  }

  void key(const std::string& text, const std::string& tag) {
    Frame& f = frames_.back();
    f.want_key = false;
    if (text == "<<" && tag == "?") {
      f.merge_next = true;
      return;
    }
    f.key = text;
    tree_.key(text);
  }

  void value(const YAML::Mark& mark, Json v) {
    if (!frames_.empty()) {
      Frame& f = frames_.back();
      if (f.map) {
        f.want_key = true;
        if (f.merge_next) {
          f.merge_next = false;
          add_merge(mark, f, std::move(v));
          return;
        }
      } else {
        ++f.items;
      }
    }
    tree_.add(std::move(v));
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    if (want_key()) {
      throw InputError(where(mark), "mapping keys must be strings");
    }
    if (frames_.size() >= kMaxDepth) {
      throw InputError(where(mark), "nested deeper than " + std::to_string(kMaxDepth));
    }
    count(0);
    Frame f;
    f.map = map;
    f.anchor = anchor;
    f.nodes_at_open = nodes_;
    f.bytes_at_open = bytes_;
    f.path = path();
    f.mark = mark;
    frames_.push_back(std::move(f));
    tree_.open();
  }

  void close(Json container) {
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    if (!frames_.empty()) {
      frames_.back().depth = std::max(frames_.back().depth, f.depth + 1);
    }
    remember(f.anchor, container, nodes_ - f.nodes_at_open + 1, bytes_ - f.bytes_at_open,
             f.depth + 1, false, "");
    value(f.mark, std::move(container));
  }

  // A merge key's value: a mapping, or a sequence of mappings (earlier ones win).
  void add_merge(const YAML::Mark& mark, Frame& f, Json v) {
    auto fail = [&] {
      throw InputError(where(mark),
                       "the value of a merge key (<<) must be a mapping or a list of mappings");
    };
    if (v.is_object()) {
      f.merges.push_back(std::move(v));
      return;
    }
    if (!v.is_array()) {
      fail();
    }
    for (auto& item : v) {
      if (!item.is_object()) {
        fail();
      }
      f.merges.push_back(std::move(item));
    }
  }

  // Adds the merged mappings' keys the map does not set itself, as kubectl's YAML does.
  static void merge(Json& object, Frame& f) {
    if (f.merges.empty()) {
      return;
    }
    auto& map = object.get_ref<Json::object_t&>();
    std::set<std::string, std::less<>> present;  // ordered: the keys are the input's
    for (const auto& [k, v] : map) {
      present.insert(k);
    }
    for (auto& source : f.merges) {
      for (auto& [k, v] : source.get_ref<Json::object_t&>()) {
        if (present.insert(k).second) {
          map.emplace_back(k, std::move(v));
        }
      }
    }
  }

  std::string source_;
  std::size_t first_document_ = 0;
  std::size_t first_line_ = 0;
  std::vector<Json> documents_;
  std::size_t document_ = 0;  // index in the stream, empty documents included
  std::size_t started_documents_ = 0;
  bool started_ = false;
  int last_start_ = 0;
  JsonTree tree_;
  std::vector<Frame> frames_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::size_t nodes_ = 0;
  std::size_t bytes_ = 0;
  std::size_t alias_bytes_ = 0;
};

}  // namespace

std::vector<Json> read(std::string_view text, std::string_view source, std::size_t first_document,
                       std::size_t first_line) {
  const std::string name(source);
  check_text(text, name, first_line);
  std::istringstream in{std::string(text)};
  Builder builder(name, first_document, first_line);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::DeepRecursion& e) {
    throw InputError(name + ": " + line_of(e.mark, first_line),
                     "nested deeper than " + std::to_string(e.depth()) +
                         " levels, the YAML reader's bound (JSON input reads to " +
                         std::to_string(kMaxDepth) + ")");
  } catch (const YAML::Exception& e) {
    throw InputError(name + ": " + line_of(e.mark, first_line), "not valid YAML: " + e.msg);
  }
  return std::move(builder.documents());
}

}  // namespace sigv4::yaml
