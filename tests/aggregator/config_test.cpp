#include "aggregator/config.h"

#include <doctest/doctest.h>

#include <set>

#include "aggregator/server.h"
#include "core/fl/update_encoding.h"

namespace nf::aggregator {

TEST_CASE("the defaults are valid and TLS is on") {
  AggregatorConfig c;
  CHECK(validate_config(c).is_ok());
  CHECK_FALSE(c.insecure);
}

TEST_CASE("a TOML file sets values and --print-config output reads back identically") {
  AggregatorConfig c;
  const std::string text = R"(
[rounds]
rounds = 7
min_completion = 0.75
[strategy]
spec = "krum:f=2"
[server]
insecure = true
)";
  REQUIRE(apply_toml(text, "test.toml", c).is_ok());
  CHECK(c.rounds == 7);
  CHECK(c.min_completion == 0.75);
  CHECK(c.strategy == "krum:f=2");
  CHECK(c.insecure);

  AggregatorConfig back;
  REQUIRE(apply_toml(config_to_toml(c), "printed", back).is_ok());
  CHECK(config_to_toml(back) == config_to_toml(c));
  CHECK(back.strategy == "krum:f=2");
}

TEST_CASE("unknown keys, wrong types and bad syntax are errors naming the key") {
  AggregatorConfig c;
  auto s = apply_toml("[rounds]\nroundz = 3\n", "a.toml", c);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message().find("rounds.roundz") != std::string::npos);
  s = apply_toml("[rounds]\nrounds = \"many\"\n", "a.toml", c);
  CHECK(s.message().find("rounds.rounds") != std::string::npos);
  CHECK(s.message().find("integer") != std::string::npos);
  s = apply_toml("[rounds\n", "b.toml", c);
  CHECK(s.message().find("b.toml:1") != std::string::npos);
  // An integer where a float is expected is fine.
  CHECK(apply_toml("[rounds]\nmin_completion = 1\n", "a.toml", c).is_ok());
  CHECK(c.min_completion == 1.0);
}

TEST_CASE("validation names the bad setting") {
  AggregatorConfig c;
  c.min_completion = 1.5;
  CHECK(validate_config(c).message().find("rounds.min_completion") != std::string::npos);
  c = {};
  c.strategy = "fedmagic";
  CHECK(validate_config(c).message().find("fedmagic") != std::string::npos);
  c = {};
  c.tls_cert = "";
  CHECK(validate_config(c).message().find("--insecure") != std::string::npos);
  c.insecure = true;
  CHECK(validate_config(c).is_ok());
  c.listen = "nowhere";
  CHECK(validate_config(c).message().find("nowhere") != std::string::npos);
  c = {};
  c.checkpoints_kept = 1;
  CHECK_FALSE(validate_config(c).is_ok());
  c = {};
  c.federated_fraction = 1.5;
  CHECK(validate_config(c).message().find("evaluation.federated_fraction") != std::string::npos);
  c = {};
  c.federated_clients = -1;
  CHECK(validate_config(c).message().find("evaluation.federated_clients") != std::string::npos);
  c = {};
  c.federated_every = -2;
  CHECK(validate_config(c).message().find("evaluation.federated_every") != std::string::npos);
  c = {};
  c.client_optimizer = "rmsprop";
  CHECK(validate_config(c).message().find("client.optimizer = 'rmsprop'") != std::string::npos);
  c = {};
  c.client_encoding = "int4";
  CHECK(validate_config(c).message().find("client.encoding = 'int4'") != std::string::npos);
  for (const char* name : {"sgd", "momentum", "nesterov", "adam", "adamw"}) {
    c = {};
    c.client_optimizer = name;
    CHECK_MESSAGE(validate_config(c).is_ok(), name);
  }
}

TEST_CASE("the client and ordering settings reach the server's options") {
  AggregatorConfig c;
  REQUIRE(apply_toml("[client]\noptimizer = \"adam\"\nencoding = \"f16-delta\"\n"
                     "[strategy]\nordered_aggregation = true\n",
                     "c.toml", c)
              .is_ok());
  REQUIRE(validate_config(c).is_ok());
  const ServerOptions o = server_options_from(c);
  CHECK(o.hyper.optimizer == "adam");
  REQUIRE(o.encodings.size() == 1);
  CHECK(encoding_name(o.encodings[0]) == "f16-delta");
  CHECK(o.ordered_aggregation);
  const ServerOptions d = server_options_from(AggregatorConfig{});
  CHECK(d.hyper.optimizer == "sgd");
  CHECK(encoding_name(d.encodings.at(0)) == "f32");
  CHECK_FALSE(d.ordered_aggregation);
}

TEST_CASE("flag names derive from keys") {
  AggregatorConfig c;
  const auto fields = config_fields(c);
  CHECK(setting_flag("rounds.min_completion", fields) == "--min-completion");
  CHECK(setting_flag("rounds.seed", fields) == "--rounds-seed");
  CHECK(setting_flag("model.seed", fields) == "--model-seed");
  CHECK(setting_flag("strategy.spec", fields) == "--strategy");
  CHECK(setting_flag("client.optimizer", fields) == "--optimizer");
  CHECK(setting_flag("client.encoding", fields) == "--encoding");
  CHECK(setting_flag("strategy.ordered_aggregation", fields) == "--ordered-aggregation");
  std::set<std::string> flags;
  for (const auto& f : fields) flags.insert(setting_flag(f.key, fields));
  CHECK(flags.size() == fields.size());
}

TEST_CASE("split_host_port") {
  auto hp = split_host_port("127.0.0.1:7443");
  REQUIRE(hp.is_ok());
  CHECK(hp->first == "127.0.0.1");
  CHECK(hp->second == 7443);
  CHECK_FALSE(split_host_port("host:99999").is_ok());
  CHECK_FALSE(split_host_port(":80").is_ok());
}

}  // namespace nf::aggregator
