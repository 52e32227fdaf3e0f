// The review path's lookups against input chosen to make them slow (issue 16): object keys that
// all share one std::hash, and pods crafted for the credential matching's nested loops. The
// work is counted in string comparisons (lookup_comparisons), not time: it must grow as
// n log n, where a hash index under colliding keys or a nested loop grows as n^2. Then the
// sorted lookups against brute force, so that the answers are the ones the old code gave.

#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "codec/json_doc.h"
#include "codec/json_text.h"
#include "codec/sorted_keys.h"
#include "core/admission.h"
#include "core/config.h"
#include "core/mutator.h"
#include "core/spec.h"

using namespace sigv4;

namespace {

// libstdc++'s std::hash of a string on 64-bit targets (_Hash_bytes) takes 8-byte blocks k into
// its state as h = (h ^ mix(k)) * m with m odd. Two blocks whose mixes differ only in the top
// bit, then two more that differ the same way, leave the same state: (x ^ 2^63) * m is
// (x * m) ^ 2^63. So t such segments, each taken one way or the other, give 2^t keys of 16t
// bytes with one hash, whatever the seed.
constexpr std::uint64_t kMul = 0xc6a4a7935bd1e995ULL;

constexpr std::uint64_t inverse(std::uint64_t m) {
  std::uint64_t x = m;  // Newton's iteration doubles the correct low bits each step
  for (int i = 0; i < 6; ++i) {
    x *= 2 - m * x;
  }
  return x;
}
constexpr std::uint64_t kMulInverse = inverse(kMul);
static_assert(kMul * kMulInverse == 1);

std::uint64_t mix(std::uint64_t k) {
  k *= kMul;
  k ^= k >> 47;
  return k * kMul;
}

std::uint64_t unmix(std::uint64_t y) {
  y *= kMulInverse;
  y ^= y >> 47;  // its own inverse: 47 > 64 / 2
  return y * kMulInverse;
}

// A block as the bytes _Hash_bytes loads it from (little-endian), when all are ASCII (a JSON
// key can hold them, escaped where needed; other bytes would have to form UTF-8); else "".
std::string ascii_bytes(std::uint64_t block) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &block, 8);
  for (char c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return {};
    }
  }
  return out;
}

// 2^t distinct ASCII keys of 16t bytes sharing one std::hash. (The pairs of blocks are
// constrained, b = a +- C + 2^63 for a constant C: no pair is printable, 1 in 400 is ASCII.)
std::vector<std::string> colliding_keys(int t) {
  std::mt19937_64 random(16);
  std::uniform_int_distribution<int> letter(0, 0x7f);
  std::vector<std::array<std::string, 2>> segments(static_cast<std::size_t>(t));
  for (auto& segment : segments) {
    for (int block = 0; block < 2; ++block) {
      for (;;) {
        std::uint64_t a = 0;
        for (int byte = 0; byte < 8; ++byte) {
          a |= static_cast<std::uint64_t>(letter(random)) << (8 * byte);
        }
        const std::string b = ascii_bytes(unmix(mix(a) ^ (std::uint64_t{1} << 63)));
        if (!b.empty()) {
          segment[0] += ascii_bytes(a);
          segment[1] += b;
          break;
        }
      }
    }
  }
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < (std::size_t{1} << t); ++i) {
    std::string key;
    for (std::size_t s = 0; s < segments.size(); ++s) {
      key += segments[s][(i >> s) & 1];
    }
    keys.push_back(key);
  }
  return keys;
}

std::uint64_t comparisons_of(const std::function<void()>& work) {
  const std::uint64_t before = lookup_comparisons;
  work();
  return lookup_comparisons - before;
}

// A v1 review of a Pod created in app1 whose object is `pod` (JSON text).
std::string review_of(std::string_view pod) {
  std::string out =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",)"
      R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",)"
      R"("namespace":"app1","object":)";
  out += pod;
  out += "}}";
  return out;
}

// The comparisons a whole review of `body` makes (parse, decision, overrides, patch).
std::uint64_t review_comparisons(const std::string& body, ReviewResult* result = nullptr) {
  static const Config kConfig = default_config();
  return comparisons_of([&] {
    ReviewResult r = review_text(body, kConfig, Route::kMutate, {});
    if (result != nullptr) {
      *result = std::move(r);
    }
  });
}

// Work that grows as n log n: doubling n at most about doubles it (n^2 would quadruple it), and
// it stays within `per_key` comparisons per item per level of a binary search.
void check_n_log_n(const std::vector<std::size_t>& sizes, const std::vector<std::uint64_t>& work,
                   double per_key) {
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const double n = static_cast<double>(sizes[i]);
    INFO("n = " << sizes[i] << ": " << work[i] << " comparisons");
    CHECK(static_cast<double>(work[i]) <= per_key * n * std::log2(n));
    if (i > 0) {
      CHECK(static_cast<double>(work[i]) / static_cast<double>(work[i - 1]) <= 2.5);
    }
  }
}

}  // namespace

TEST_CASE("the colliding keys share one std::hash", "[lookup-cost]") {
#if defined(__GLIBCXX__) && SIZE_MAX == UINT64_MAX && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const std::vector<std::string> keys = colliding_keys(8);
  const std::size_t first = std::hash<std::string_view>{}(keys.front());
  for (const std::string& key : keys) {
    CHECK(std::hash<std::string_view>{}(key) == first);
    CHECK(std::hash<std::string>{}(key) == first);
  }
  CHECK(keys[1] != keys[2]);
#else
  WARN("not libstdc++ on a 64-bit little-endian target: the keys do not collide here");
#endif
}

TEST_CASE("a review with keys sharing one hash costs n log n comparisons", "[lookup-cost]") {
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> doc_work;
  std::vector<std::uint64_t> tree_work;
  std::vector<std::uint64_t> review_work;
  for (int t : {9, 10, 11, 12}) {
    const std::vector<std::string> keys = colliding_keys(t);
    // Every key twice, so that the duplicate rule is exercised on them too.
    std::string object = "{";
    for (std::size_t i = 0; i < 2 * keys.size(); ++i) {
      append_json_string(object, keys[i % keys.size()]);
      object += ':' + std::to_string(i) + ',';
    }
    object.back() = '}';
    sizes.push_back(keys.size());
    JsonDoc doc;
    doc_work.push_back(comparisons_of([&] {
      doc = parse_json_doc(object, {});
      for (const std::string& key : keys) {
        REQUIRE(doc.root().find(key) != nullptr);
      }
    }));
    Json tree;
    tree_work.push_back(comparisons_of([&] { tree = parse_json_limited(object, {}); }));
    const Json expected = Json::parse(object);
    CHECK(tree == expected);
    CHECK(to_json(doc.root()) == expected);
    CHECK(doc.root().find(keys.back())->integer() == static_cast<int>(2 * keys.size() - 1));

    ReviewResult result;
    review_work.push_back(review_comparisons(
        review_of(R"({"metadata":{"name":"web","annotations":)" + object +
                  R"(},"spec":{"containers":[{"name":"app","image":"nginx"}]}})"),
        &result));
    CHECK(result.mutation.decision.inject);
  }
  // Each key is compared about log2(2n) times by the sort, and log2(n) more times when looked up.
  check_n_log_n(sizes, doc_work, 6);
  check_n_log_n(sizes, tree_work, 6);
  check_n_log_n(sizes, review_work, 6);
}

namespace {

// An "already injected" pod crafted for the credential sync: the app container carries `n`
// credential env entries and `n` token mounts, the sidecar already has every one of them, each
// after `n` entries that differ. Nothing is missing, so the patch is empty: the work is all
// in the matching.
std::string crafted_injected_pod(std::size_t n) {
  std::string app_env;
  std::string app_mounts;
  std::string proxy_env;
  std::string proxy_mounts;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string dir = "/m/" + std::to_string(i);
    app_env += R"({"name":"AWS_ROLE_ARN","value":"arn"},)";
    app_env += R"({"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":")" + dir + R"(/token"},)";
    app_mounts += R"({"name":"t","mountPath":")" + dir + R"("},)";
    proxy_env += R"({"name":"X)" + std::to_string(i) + R"("},)";
    proxy_mounts += R"({"name":"x","mountPath":"/x/)" + std::to_string(i) + R"("},)";
  }
  proxy_env += R"({"name":"AWS_ROLE_ARN"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE"})";
  proxy_mounts += app_mounts;
  proxy_mounts.pop_back();
  app_env.pop_back();
  app_mounts.pop_back();
  return R"({"metadata":{"name":"web","annotations":{"sigv4-injector.io/status":"injected"}},)"
         R"("spec":{"containers":[{"name":"app","image":"nginx","env":[)" +
         app_env + R"(],"volumeMounts":[)" + app_mounts +
         R"(]},{"name":"sigv4proxy","image":"p","env":[)" + proxy_env + R"(],"volumeMounts":[)" +
         proxy_mounts + "]}]}}";
}

// A pod to inject crafted for the token mounts' matching: `n` token-file env entries and `n`
// mounts, none of which holds a token file.
std::string crafted_pod(std::size_t n) {
  std::string env;
  std::string mounts;
  for (std::size_t i = 0; i < n; ++i) {
    env += R"({"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/t/)" + std::to_string(i) +
           R"(/token"},)";
    mounts += R"({"name":"m","mountPath":"/m/)" + std::to_string(i) + R"("},)";
  }
  env.pop_back();
  mounts.pop_back();
  return R"({"metadata":{"name":"web"},"spec":{"containers":[{"name":"app","image":"nginx",)"
         R"("env":[)" +
         env + R"(],"volumeMounts":[)" + mounts + "]}]}}";
}

}  // namespace

TEST_CASE("a crafted already-injected pod costs n log n comparisons", "[lookup-cost]") {
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> work;
  for (std::size_t n : {1000, 2000, 4000, 8000}) {
    ReviewResult result;
    sizes.push_back(n);
    work.push_back(review_comparisons(review_of(crafted_injected_pod(n)), &result));
    CHECK(result.mutation.decision.has(Reason::kAlreadyInjected));
    CHECK(result.mutation.patch.empty());  // the sidecar has every entry already
  }
  check_n_log_n(sizes, work, 16);
}

TEST_CASE("a pod crafted for the token mounts costs n log n comparisons", "[lookup-cost]") {
  std::vector<std::size_t> sizes;
  std::vector<std::uint64_t> work;
  for (std::size_t n : {1000, 2000, 4000, 8000}) {
    ReviewResult result;
    sizes.push_back(n);
    work.push_back(review_comparisons(review_of(crafted_pod(n)), &result));
    REQUIRE(result.mutation.decision.inject);
  }
  check_n_log_n(sizes, work, 6);
  // The env is copied to the sidecar, no mount (none holds a token file).
  const std::string small = crafted_pod(4);
  const Json proxy = proxy_container(default_config(), parse_json_doc(small, {}).root());
  CHECK(proxy["env"].size() == 2 + 4);
  CHECK_FALSE(proxy.contains("volumeMounts"));
}

namespace {

// The matching the credential copy did before it was sorted: `path` lies inside `dir` (or is
// it), trailing slashes of `dir` ignored, "/" holding only "/" and "//...".
bool path_within(std::string_view path, std::string_view dir) {
  while (dir.size() > 1 && dir.back() == '/') {
    dir.remove_suffix(1);
  }
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

std::string random_path(std::mt19937& random) {
  static constexpr std::array<std::string_view, 5> kParts = {"/", "a", "b", "/a", "ab"};
  std::string out;
  const int parts = std::uniform_int_distribution<int>(0, 4)(random);
  for (int i = 0; i < parts; ++i) {
    out += kParts[std::uniform_int_distribution<std::size_t>(0, kParts.size() - 1)(random)];
  }
  return out;
}

}  // namespace

TEST_CASE("token mounts are matched as a scan of every pair would match them", "[lookup-cost]") {
  std::mt19937 random(16);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> files(std::uniform_int_distribution<std::size_t>(0, 6)(random));
    Json env = Json::array();
    for (auto& file : files) {
      file = random_path(random);
      env.push_back({{"name", round % 2 == 0 ? "AWS_WEB_IDENTITY_TOKEN_FILE"
                                             : "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"},
                     {"value", file}});
    }
    env.push_back({{"name", "AWS_ROLE_ARN"}, {"value", "arn"}});
    Json mounts = Json::array();
    Json expected = Json::array();
    for (int i = std::uniform_int_distribution<int>(0, 8)(random); i > 0; --i) {
      const std::string dir = random_path(random);
      const Json mount = {{"name", "m" + std::to_string(i)}, {"mountPath", dir}};
      mounts.push_back(mount);
      bool within = false;
      for (const auto& file : files) {
        within = within || path_within(file, dir);
      }
      if (!dir.empty() && within) {
        expected.push_back(mount);
      }
    }
    const Json pod = {
        {"spec", {{"containers", {{{"name", "app"}, {"env", env}, {"volumeMounts", mounts}}}}}}};
    INFO(pod.dump());
    CHECK(credential_sources(JsonDoc::from_json(pod).root())["volumeMounts"] == expected);
  }
}

TEST_CASE("StringSet answers as a scan of its items would", "[lookup-cost]") {
  std::mt19937 random(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> items(std::uniform_int_distribution<std::size_t>(0, 10)(random));
    for (auto& item : items) {
      item = random_path(random);
    }
    const StringSet set(std::vector<std::string_view>(items.begin(), items.end()));
    for (int query = 0; query < 20; ++query) {
      const std::string q = random_path(random);
      bool equal = false;
      bool prefixed = false;
      for (const auto& item : items) {
        equal = equal || item == q;
        prefixed = prefixed || std::string_view(item).substr(0, q.size()) == q;
      }
      INFO("query " << q);
      CHECK(set.contains(q) == equal);
      CHECK(set.contains_prefixed(q) == prefixed);
    }
  }
}

TEST_CASE("large objects keep first position, last value as nlohmann does", "[lookup-cost]") {
  std::mt19937 random(32);
  for (int round = 0; round < 100; ++round) {
    // 20 to 300 members over a few dozen keys: many duplicates, on both sides of the limit.
    const int members = std::uniform_int_distribution<int>(20, 300)(random);
    const int distinct = std::uniform_int_distribution<int>(1, 60)(random);
    std::string text = "{";
    for (int i = 0; i < members; ++i) {
      text += "\"k" + std::to_string(std::uniform_int_distribution<int>(0, distinct)(random)) +
              "\":" + (i % 7 == 0 ? R"({"inner":)" + std::to_string(i) + "}" : std::to_string(i));
      text += i + 1 < members ? "," : "}";
    }
    INFO(text);
    const Json expected = Json::parse(text);
    CHECK(parse_json_limited(text, {}) == expected);
    const JsonDoc doc = parse_json_doc(text, {});
    CHECK(to_json(doc.root()) == expected);
    std::string written;
    append_json_text(written, doc.root());
    CHECK(written == to_json_text(expected));
    CHECK(doc.root().size() == expected.size());
    for (int k = 0; k <= distinct + 1; ++k) {
      const std::string key = "k" + std::to_string(k);
      const JsonNode* found = doc.root().find(key);
      REQUIRE((found != nullptr) == expected.contains(key));
      if (found != nullptr) {
        CHECK(to_json(*found) == expected[key]);
      }
    }
  }
}
