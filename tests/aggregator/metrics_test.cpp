#include "aggregator/metrics.h"

#include <doctest/doctest.h>

#include <cmath>

#include "aggregator/http_endpoint.h"

namespace nf::aggregator {

TEST_CASE("a round's JSON line names failures and writes no NaN") {
  RoundMetrics m;
  m.round = 4;
  m.outcome = "completed";
  m.participants = 2;
  m.participant_ids = {"a", "b"};
  m.failures = {{"evil\"dev", "rejected: non-finite value at index 3"}};
  m.train_loss = std::nan("");
  m.eval_accuracy = 0.5;
  const auto line = to_json_line(m);
  CHECK(line.find("\"round\":4") != std::string::npos);
  CHECK(line.find("{\"device\":\"evil\\\"dev\",\"reason\":\"rejected: non-finite") !=
        std::string::npos);
  CHECK(line.find("\"train_loss\":null") != std::string::npos);
  CHECK(line.find("\"eval_loss\":null") != std::string::npos);
  CHECK(line.find("\"eval_accuracy\":0.5") != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find("nan") == std::string::npos);
}

TEST_CASE("federated evaluation: null when not run, else an object with its failures") {
  RoundMetrics m;
  m.round = 2;
  CHECK(to_json_line(m).find("\"federated_eval\":null") != std::string::npos);
  m.federated.sampled = 3;
  m.federated.results = 2;
  m.federated.examples = 400;
  m.federated.loss = 0.25;
  m.federated.accuracy = 0.75;
  m.federated.failures = {{"dev-9", "timeout after 5.0 s"}};
  m.federated.bytes_in = 120;
  m.federated.bytes_out = 342000;
  m.bytes_out = 1000;
  const auto line = to_json_line(m);
  CHECK(line.find(
            "\"federated_eval\":{\"sampled\":3,\"results\":2,\"examples\":400,"
            "\"loss\":0.25,\"accuracy\":0.75,\"failures\":[{\"device\":\"dev-9\","
            "\"reason\":\"timeout after 5.0 s\"}],\"eval_bytes_in\":120,\"eval_bytes_out\":342000,"
            "\"seconds\":") != std::string::npos);
  // Its bytes are its own, apart from the round's.
  CHECK(line.find("},\"bytes_in\":0,\"bytes_out\":1000,") != std::string::npos);
  // The round's own failures stay apart from the evaluation's.
  CHECK(line.find("\"failures\":[],") != std::string::npos);
  m.federated.results = 0;
  m.federated.loss = m.federated.accuracy = -1;
  CHECK(to_json_line(m).find("\"loss\":null,\"accuracy\":null") != std::string::npos);
}

TEST_CASE("json_quote escapes control characters") {
  CHECK(json_quote("a\nb\x01") == "\"a\\nb\\u0001\"");
}

TEST_CASE("Prometheus text has HELP, TYPE and values") {
  ServerCounters c;
  c.rounds_completed = 3;
  c.connected = 7;
  const auto text = prometheus_text(c);
  CHECK(text.find("# TYPE nf_aggregator_rounds_completed_total counter\n"
                  "nf_aggregator_rounds_completed_total 3\n") != std::string::npos);
  CHECK(text.find("nf_aggregator_connected_devices 7\n") != std::string::npos);
  CHECK(text.find("nf_aggregator_federated_eval_accuracy -1\n") != std::string::npos);  // none yet
  c.last_federated_eval_accuracy = 0.5;
  c.federated_eval_failures = 2;
  const auto fed = prometheus_text(c);
  CHECK(fed.find("nf_aggregator_federated_eval_accuracy 0.5\n") != std::string::npos);
  CHECK(fed.find("nf_aggregator_federated_eval_failures_total 2\n") != std::string::npos);
}

TEST_CASE("the live page embeds its state so that no '</' can close the script") {
  const auto html = live_page_html(R"({"evil":"</script><script>alert(1)</script>"})");
  CHECK(html.find("</script><script>alert") == std::string::npos);
  CHECK(html.find("\\u003c/script>") != std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no external asset
}

}  // namespace nf::aggregator
