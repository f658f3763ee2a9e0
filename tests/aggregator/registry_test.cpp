#include "aggregator/registry.h"

#include <doctest/doctest.h>

namespace nf::aggregator {

TEST_CASE("a reconnecting device supersedes its old session") {
  DeviceRegistry r;
  const auto s1 = r.connect("dev-a", "10.0.0.1:1", 1.0);
  r.connect("dev-b", "10.0.0.2:1", 1.0);
  CHECK(r.is_current("dev-a", s1));
  const auto s2 = r.connect("dev-a", "10.0.0.1:2", 2.0);
  CHECK(s2 != s1);
  CHECK_FALSE(r.is_current("dev-a", s1));
  CHECK(r.is_current("dev-a", s2));
  // The old session closing late does not disconnect the new one.
  r.disconnect("dev-a", s1, 3.0);
  CHECK(r.is_current("dev-a", s2));
  CHECK(r.connected_count() == 2);
  r.disconnect("dev-a", s2, 4.0);
  CHECK(r.connected() == std::vector<std::string>{"dev-b"});
}

TEST_CASE("records survive a restore, devices start disconnected") {
  DeviceRegistry r;
  r.connect("dev-a", "x", 0);
  r.record_success("dev-a", 1);
  r.record_success("dev-a", 2);
  r.record_failure("dev-b", "timeout");
  DeviceRegistry back;
  back.restore(r.records());
  REQUIRE(back.find("dev-a") != nullptr);
  CHECK(back.find("dev-a")->record.rounds_completed == 2);
  CHECK(back.find("dev-a")->record.last_round == 2);
  CHECK(back.find("dev-b")->record.failures == 1);
  CHECK(back.connected_count() == 0);
}

}  // namespace nf::aggregator
