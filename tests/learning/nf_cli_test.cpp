// `nf train` and `nf topo search` run as processes: exit codes, messages,
// and a short training run on a few hundred examples.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/data/idx_reader.h"

namespace {

struct Run {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Run run_nf(const std::string& args) {
  Run r;
  const std::string cmd = std::string(NF_TOOL_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool have_fashion_mnist() {
  return std::filesystem::exists(nf::default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
}

// The number after "key": in a flat JSON text, or -1.
double json_value(const std::string& json, const std::string& key) {
  const size_t at = json.rfind("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

}  // namespace

TEST_CASE("nf train names bad flags in its errors") {
  Run r = run_nf("train --fabric bogus_kind");
  CHECK(r.code == 2);
  CHECK(r.out.find("--fabric") != std::string::npos);
  CHECK(r.out.find("bogus_kind") != std::string::npos);

  r = run_nf("train --fabric clos --budget 1.5");
  CHECK(r.code == 2);
  CHECK(r.out.find("1.5") != std::string::npos);

  r = run_nf("train --eval");
  CHECK(r.code == 2);
  CHECK(r.out.find("--load") != std::string::npos);

  r = run_nf("train --load /nonexistent/model.nfm --eval");
  CHECK(r.code == 1);
  CHECK(r.out.find("/nonexistent/model.nfm") != std::string::npos);

  r = run_nf("train --spec '784|300:relu:nope|10:linear:dense'");
  CHECK(r.code == 2);
  CHECK(r.out.find("--spec") != std::string::npos);

  r = run_nf("train --lr-schedule sawtooth");
  CHECK(r.code == 2);
  CHECK(r.out.find("--lr-schedule") != std::string::npos);
  CHECK(r.out.find("sawtooth") != std::string::npos);

  r = run_nf("train --epochs 3 --warmup 3");
  CHECK(r.code == 2);
  CHECK(r.out.find("--warmup") != std::string::npos);

  r = run_nf("train --epochs notanumber");
  CHECK(r.code != 0);
  CHECK(r.out.find("--epochs") != std::string::npos);
}

TEST_CASE("nf topo search names bad flags in its errors") {
  Run r = run_nf("topo search --budget 0");
  CHECK(r.code == 2);
  CHECK(r.out.find("--budget") != std::string::npos);
  r = run_nf("topo search --kinds clos nosuchfabric --no-train");
  CHECK(r.code == 2);
  CHECK(r.out.find("nosuchfabric") != std::string::npos);
}

TEST_CASE("nf topo search without data reports a ranking at the budget") {
  Run r = run_nf(
      "topo search --no-train --json --budget 0.1 --population 4 --generations 1 --survivors 2 "
      "--kinds clos random_fan_in");
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"candidates\":[") != std::string::npos);
  CHECK(r.out.find("\"best_search\":\"") != std::string::npos);
}

TEST_CASE("nf topo search ranks candidates by the fitted data-free fitness") {
  // --no-train: the report lists candidates by data-free fitness alone. The
  // fitted weights put Clos above the torus (poor mixing) and low-rank (a
  // narrow bottleneck); the old guess ranked low-rank with the best.
  Run r = run_nf(
      "topo search --no-train --json --budget 0.1 --population 2 --generations 1 --survivors 1 "
      "--kinds clos");
  REQUIRE(r.code == 0);
  auto position = [&](const std::string& genome) {
    return r.out.find("\"genome\":\"" + genome + "\"");
  };
  const size_t clos = position("clos"), torus = position("torus"), low_rank = position("low_rank");
  REQUIRE(clos != std::string::npos);
  REQUIRE(torus != std::string::npos);
  REQUIRE(low_rank != std::string::npos);
  CHECK(clos < torus);
  CHECK(torus < low_rank);
}

TEST_CASE("nf train on a few hundred examples beats chance, saves and evaluates again") {
  if (!have_fashion_mnist()) {
    MESSAGE("Fashion-MNIST not installed; skipped");
    return;
  }
  const std::string model = (std::filesystem::temp_directory_path() /
                             ("nf_learning_test_" + std::to_string(getpid()) + ".nfm"))
                                .string();
  Run r = run_nf(
      "train --fabric clos --budget 0.1 --train-limit 400 --test-limit 300 --epochs 3 "
      "--lr 0.003 --json --save " +
      model);
  REQUIRE(r.code == 0);
  const double acc = json_value(r.out, "final_accuracy");
  MESSAGE("accuracy after 3 epochs on 400 examples: " << acc);
  CHECK(acc > 0.3);  // chance is 0.1

  Run e = run_nf("train --load " + model + " --eval --test-limit 300 --json");
  REQUIRE(e.code == 0);
  // The same model on the same test subset: the same accuracy.
  CHECK(json_value(e.out, "final_accuracy") == doctest::Approx(acc));
  std::filesystem::remove(model);
}
