// In-process cost of one admission review: parse -> decide -> patch -> serialise the response,
// exactly what the server does per request between reading the body and writing the answer.
// Run: build-bench/tests/bench/review_bench  (or `make bench` for every figure).
// `review_bench --write-fixtures DIR` writes the 4 KB review and its response for the wire run;
// `review_bench --profile BYTES N` reviews one pod N times (BYTES 1500 = the 1,500-env pod).

#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>

#include "bench/fixtures.h"
#include "core/config.h"
#include "core/mutator.h"

namespace {

using sigv4::Json;

const sigv4::Config& config() {
  static const sigv4::Config kConfig = sigv4::default_config();
  return kConfig;
}

std::string respond(const std::string& body) {
  sigv4::ReviewResult result = sigv4::review_text(body, config(), sigv4::Route::kMutate);
  return std::move(result.response);  // the text the server sends
}

void run_reviews(benchmark::State& state, const std::string& body) {
  if (!Json::parse(respond(body))["response"].contains("patch")) {
    state.SkipWithError("the fixture pod was not injected");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(respond(body));
  }
  const double kb = static_cast<double>(body.size()) / 1024.0;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
  state.counters["body_KB"] = kb;
  // Seconds per KB of body: reported next to the time so linearity shows at a glance.
  state.counters["per_KB"] = benchmark::Counter(
      kb, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Review of a pod of about state.range(0) bytes.
void BM_Review(benchmark::State& state) {
  const std::string body = sigv4::bench::review_of_size(static_cast<std::size_t>(state.range(0)));
  run_reviews(state, body);
}
BENCHMARK(BM_Review)
    ->Arg(1 << 10)
    ->Arg(4 << 10)
    ->Arg(16 << 10)
    ->Arg(64 << 10)
    ->Arg(256 << 10)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMicrosecond);

// Review of the typical pod with state.range(0) env vars on its app container.
void BM_ReviewEnv(benchmark::State& state) {
  const std::string body = sigv4::bench::review_with_env(static_cast<std::size_t>(state.range(0)));
  run_reviews(state, body);
}
BENCHMARK(BM_ReviewEnv)->Arg(1500)->Unit(benchmark::kMicrosecond);

// Parse alone (the floor under BM_Review): how much of a review is the JSON parser.
void BM_Parse(benchmark::State& state) {
  const std::string body = sigv4::bench::review_of_size(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(sigv4::parse_json_limited(body, {}));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_Parse)->Arg(4 << 10)->Arg(64 << 10)->Unit(benchmark::kMicrosecond);

int write_fixtures(const std::string& dir) {
  const std::string body = sigv4::bench::review_of_size(4 << 10);
  std::ofstream(dir + "/review-4k.json", std::ios::binary) << body;
  std::ofstream(dir + "/response-4k.json", std::ios::binary) << respond(body);
  std::cout << "wrote " << dir << "/review-4k.json (" << body.size() << " bytes)\n";
  return 0;
}

// A plain loop for profilers (callgrind counts instructions per review, stable on a noisy host).
int profile(std::size_t bytes, int count) {
  const std::string body =
      bytes == 1500 ? sigv4::bench::review_with_env(1500) : sigv4::bench::review_of_size(bytes);
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) {
    total += respond(body).size();
  }
  std::cout << count << " reviews of " << body.size() << " bytes, " << total << " bytes out\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-fixtures") == 0) {
    return write_fixtures(argv[2]);
  }
  if (argc == 4 && std::strcmp(argv[1], "--profile") == 0) {
    return profile(std::stoul(argv[2]), std::stoi(argv[3]));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
