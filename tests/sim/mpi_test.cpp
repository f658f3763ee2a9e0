// nf-sim-mpi under `mpirun --oversubscribe -np 2` gives the bit-identical
// model of nf-sim in one process (the real aggregator with ordered
// aggregation) for the same seed: the ranks' weighted sums are combined in a
// fixed order (docs/simulation.md).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "core/util/hash.h"
#include "examples/sim/simulation.h"
#include "tests/sim/run_program.h"

namespace nf::sim {
namespace {

const std::string kSimMpi = std::string(NF_BINARY_DIR) + "/examples/nf-sim-mpi";

// 60 clients of 1,000 examples, 5 sampled per round: two ranks train 2 and 3
// of them, three ranks 1, 2 and 2.
SimOptions small(const std::string& strategy) {
  SimOptions o;
  o.clients = 60;
  o.per_round = 5;
  o.rounds = 2;
  o.epochs = 1;
  o.max_test = 500;
  o.threads = 1;
  o.strategy = strategy;
  o.quiet = true;
  return o;
}

test::Run run_mpi(int ranks, const SimOptions& o, const std::string& dir) {
  // mpirun refuses to run as root (CI and this machine) unless told it may.
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  return test::run_program({NF_MPIEXEC,
                            "--oversubscribe",
                            "-np",
                            std::to_string(ranks),
                            kSimMpi,
                            "--clients",
                            std::to_string(o.clients),
                            "--per-round",
                            std::to_string(o.per_round),
                            "--rounds",
                            std::to_string(o.rounds),
                            "--epochs",
                            std::to_string(o.epochs),
                            "--max-test",
                            std::to_string(o.max_test),
                            "--threads",
                            std::to_string(o.threads),
                            "--strategy",
                            o.strategy,
                            "--quiet",
                            "--json"},
                           dir + "/mpi_stderr.txt");
}

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_sim_mpi_XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST_CASE("2 MPI ranks give the single process's model, bit for bit (fedavg)") {
  const std::string dir = temp_dir();
  const SimOptions o = small("fedavg");
  const SimSummary single = run_simulation(o, nullptr).value();
  const test::Run two = run_mpi(2, o, dir);
  INFO("stderr: " << two.err);
  REQUIRE(two.exit_code == 0);
  CHECK(test::json_field(two.out, "mode") == "mpi");
  CHECK(test::json_field(two.out, "processes") == "2");
  CHECK(test::json_field(two.out, "rounds") == "2");
  CHECK(test::json_field(two.out, "client_updates") == "10");
  CHECK(test::json_field(two.out, "final_model_hash") == hash_hex(single.final_model_hash));
  CHECK(std::stod(test::json_field(two.out, "final_accuracy")) ==
        doctest::Approx(single.final_accuracy).epsilon(1e-9));

  std::filesystem::remove_all(dir);
}

TEST_CASE("a server optimizer's state carries across rounds the same way (fedadam, 3 ranks)") {
  const std::string dir = temp_dir();
  const SimOptions o = small("fedadam");
  const SimSummary single = run_simulation(o, nullptr).value();
  const test::Run three = run_mpi(3, o, dir);
  INFO("stderr: " << three.err);
  REQUIRE(three.exit_code == 0);
  CHECK(test::json_field(three.out, "final_model_hash") == hash_hex(single.final_model_hash));
  std::filesystem::remove_all(dir);
}

TEST_CASE("nf-sim-mpi refuses a strategy that is not a weighted sum, on every rank") {
  const std::string dir = temp_dir();
  const test::Run r = run_mpi(2, small("median"), dir);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("needs every update at once") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nf::sim
