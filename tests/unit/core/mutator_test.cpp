#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codec/base64.h"
#include "codec/errors.h"
#include "core/mutator.h"
#include "test_util.h"

using namespace sigv4;
using test::review;

namespace {

Json make_review(const char* api_version, const Json& pod, const char* operation = "CREATE") {
  return Json{{"apiVersion", api_version},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
                {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                {"namespace", "app1"},
                {"operation", operation},
                {"object", pod}}}};
}

// The where() of the InputError review_text throws for `body`.
std::string review_error(const std::string& body) {
  try {
    review_text(body, default_config(), Route::kMutate);
  } catch (const InputError& e) {
    return e.where() + ": " + e.detail();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("a review is answered in its own version with an applicable patch", "[mutator]") {
  auto version = GENERATE("admission.k8s.io/v1", "admission.k8s.io/v1beta1");
  Json pod = test::make_pod();
  ReviewResult r = review(make_review(version, pod), default_config(), Route::kMutate);
  const Json resp = Json::parse(r.response);
  CHECK(resp["apiVersion"] == version);
  CHECK(resp["kind"] == "AdmissionReview");
  CHECK(resp["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002");
  CHECK(resp["response"]["allowed"] == true);
  CHECK(resp["response"]["patchType"] == "JSONPatch");
  Json patch = Json::parse(base64_decode(resp["response"]["patch"].get<std::string>()).value());
  Json out = pod.patch(patch);
  CHECK(test::names(out, "containers") == std::vector<std::string>{"app", "sigv4proxy"});
  CHECK(r.mutation.decision.inject);
  CHECK(r.request.namespace_name == "app1");
  CHECK(r.request.name == "web");
}

TEST_CASE("skips answer allowed without a patch, with warnings where surprising", "[mutator]") {
  Json pod = test::make_pod();
  pod["spec"]["hostNetwork"] = true;
  ReviewResult r =
      review(make_review("admission.k8s.io/v1", pod), default_config(), Route::kMutate);
  const Json resp = Json::parse(r.response)["response"];
  CHECK(resp["allowed"] == true);
  CHECK_FALSE(resp.contains("patch"));
  REQUIRE(resp["warnings"].size() == 1);
  CHECK(resp["warnings"][0].get<std::string>().find("host-network") != std::string::npos);

  ReviewResult update = review(make_review("admission.k8s.io/v1", test::make_pod(), "UPDATE"),
                               default_config(), Route::kMutate);
  CHECK(update.mutation.decision.has(Reason::kNotCreate));
  CHECK_FALSE(Json::parse(update.response)["response"].contains("patch"));
}

TEST_CASE("an invalid override denies the pod naming the annotation and value", "[mutator]") {
  Json pod = test::make_pod();
  pod["metadata"]["annotations"] = {{"sigv4-injector.io/proxy-port", "99999"}};
  ReviewResult r =
      review(make_review("admission.k8s.io/v1", pod), default_config(), Route::kMutate);
  const Json resp = Json::parse(r.response)["response"];
  CHECK(resp["allowed"] == false);
  CHECK(resp["status"]["code"] == 400);
  std::string message = resp["status"]["message"];
  CHECK(message.find("sigv4-injector.io/proxy-port") != std::string::npos);
  CHECK(message.find("99999") != std::string::npos);
  CHECK_FALSE(resp.contains("patch"));
  CHECK(r.mutation.decision.has(Reason::kInvalidOverride));
}

TEST_CASE("an opted-out pod with a bad override is not denied", "[mutator]") {
  Json pod = test::make_pod();
  pod["metadata"]["annotations"] = {{"sigv4-injector.io/proxy-port", "99999"},
                                    {"sigv4-injector.io/inject", "disabled"}};
  ReviewResult r =
      review(make_review("admission.k8s.io/v1", pod), default_config(), Route::kMutate);
  CHECK(Json::parse(r.response)["response"]["allowed"] == true);
}

TEST_CASE("malformed reviews are refused with the field named", "[admission]") {
  CHECK(review_error("{").find("malformed JSON") != std::string::npos);
  CHECK(review_error("[]").rfind("body", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"v1","kind":"AdmissionReview"})").rfind("apiVersion", 0) ==
        0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod"})").rfind("kind", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})")
            .rfind("request", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                         "request":{"kind":{"kind":"Pod"},"operation":"CREATE","object":{}}})")
            .rfind("request.uid", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                         "request":{"uid":5}})")
            .rfind("request.uid", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                         "request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE",
                                    "object":[1]}})")
            .rfind("request.object", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                         "request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE"}})")
            .rfind("request.object", 0) == 0);
  CHECK(review_error(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                         "request":{"uid":"u","kind":"Pod"}})")
            .rfind("request.kind", 0) == 0);
}

TEST_CASE("hostile JSON is bounded, not recursed", "[admission]") {
  std::string deep(200000, '[');
  CHECK(review_error(deep).find("nested deeper") != std::string::npos);
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) {
    deep_objects += R"({"a":)";
  }
  CHECK(review_error(deep_objects).find("nested deeper") != std::string::npos);
  JsonLimits small;
  small.max_string_bytes = 16;
  CHECK_THROWS_AS(parse_json_limited(R"(["01234567890123456789"])", small), InputError);
  CHECK_NOTHROW(parse_json_limited(R"(["\"quoted\" ok"])", small));
  CHECK(review_error("{\"a\":\"\xff\"}").find("malformed JSON") != std::string::npos);
}

TEST_CASE("a number too large for a double is a malformed review, not an internal error",
          "[mutator]") {
  // Found by tests/integration/test_hostile_input.py: nlohmann reports float overflow as
  // out_of_range, which escaped as a 500.
  for (const char* number : {"1e400", "-1e400", "1" /* control */}) {
    std::string body = std::string(R"({"apiVersion":"admission.k8s.io/v1","kind":)") +
                       R"("AdmissionReview","request":{"uid":"u","object":{"n":)" + number + "}}}";
    if (std::string(number) == "1") {
      CHECK_NOTHROW(review_text(body, default_config(), Route::kMutate));
    } else {
      CHECK(review_error(body).find("malformed JSON") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(parse_json_limited("[1e999]", JsonLimits{}), InputError);
}

TEST_CASE("a review parsed by its shape is answered as the review parsed whole", "[mutator]") {
  Json pod = test::make_pod();
  pod["metadata"]["managedFields"] =
      Json::array({{{"manager", "kubectl"}, {"fieldsV1", {{"f:spec", Json::object()}}}}});
  pod["metadata"]["ownerReferences"] =
      Json::array({{{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", "j"}}});
  pod["spec"]["volumes"] = Json::array({{{"name", "v"}, {"emptyDir", Json::object()}}});
  Json& app = pod["spec"]["containers"][0];
  app["env"] = Json::array(
      {{{"name", "AWS_ROLE_ARN"}, {"value", "arn:aws:iam::1:role/r"}},
       {{"name", "AWS_WEB_IDENTITY_TOKEN_FILE"}, {"value", "/var/run/secrets/eks/token"}}});
  app["volumeMounts"] = Json::array({{{"name", "t"}, {"mountPath", "/var/run/secrets/eks"}}});
  app["ports"] = Json::array({{{"containerPort", 8005}}});
  app["resources"] = {{"limits", {{"cpu", "1"}}}};

  std::vector<Json> pods = {pod};
  Json native = pod;
  native["metadata"]["annotations"] = {{"sigv4-injector.io/sidecar-mode", "native"},
                                       {"sigv4-injector.io/inject", "enabled"}};
  native["spec"]["initContainers"] = Json::array({{{"name", "setup"}, {"image", "busybox"}}});
  pods.push_back(native);
  Json odd = pod;
  odd["spec"]["containers"] = {{"name", "not-a-list"}};
  pods.push_back(odd);
  odd["spec"] = Json::array({1, 2});
  pods.push_back(odd);
  Json host = pod;
  host["spec"]["hostNetwork"] = true;
  pods.push_back(host);
  // The fields issue 17 reads: spec.os, spec.nodeSelector, spec.restartPolicy, containers, the
  // LimitRanger annotation, pod-level resources; each pod once without a Job owner.
  Json plain = pod;
  plain["metadata"].erase("ownerReferences");
  for (
      const char* extra :
      {R"({"spec":{"os":{"name":"windows"}}})",
       R"({"spec":{"nodeSelector":{"kubernetes.io/os":"windows"}}})",
       R"({"spec":{"restartPolicy":"Never"}})", R"({"spec":{"containers":[]}})",
       R"({"metadata":{"annotations":{"kubernetes.io/limit-ranger":"LimitRanger plugin set: cpu request for container app"}}})",
       R"({"metadata":{"annotations":{"kubernetes.io/limit-ranger":"x"}},"spec":{"resources":{"limits":{"cpu":"1"}}}})",
       R"({"spec":{"initContainers":[{"name":"iptables-init","image":"x"}]}})", "{}"}) {
    Json p = plain;
    p.merge_patch(Json::parse(extra));
    pods.push_back(p);
  }

  for (const Json& p : pods) {
    for (Route route : kRoutes) {
      Json r = make_review("admission.k8s.io/v1", p);
      r["request"]["userInfo"] = {{"username", "system:serviceaccount:kube-system:rs"}};
      r["request"]["oldObject"] = nullptr;
      const std::string body = r.dump();
      INFO(body);
      const ReviewResult shaped = review_text(body, default_config(), route);
      const ReviewResult whole = review(parse_json_limited(body, {}), default_config(), route);
      const JsonDoc whole_doc = parse_json_doc(body, {});
      const ReviewResult unshaped = sigv4::review(whole_doc.root(), default_config(), route);
      CHECK(shaped.response == whole.response);
      CHECK(unshaped.response == whole.response);
      CHECK(shaped.mutation.patch == whole.mutation.patch);
      CHECK(shaped.mutation.warnings == whole.mutation.warnings);
    }
  }
}
