#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/util/file.h"
#include "device_agent/agent_config.h"
#include "device_agent/backoff.h"
#include "device_agent/footprint.h"
#include "device_agent/identity.h"
#include "device_agent/state_store.h"
#include "transports/tls/certificates.h"

namespace nf {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_agent_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST_CASE("backoff doubles up to the cap with bounded jitter, reproducibly") {
  BackoffConfig cfg;
  cfg.initial = std::chrono::milliseconds(500);
  cfg.max = std::chrono::milliseconds(30000);
  cfg.jitter = 0.2;
  cfg.seed = 42;
  Backoff a(cfg), b(cfg);
  double base = 500;
  std::vector<int64_t> seen;
  for (int i = 0; i < 12; ++i) {
    const int64_t d = a.next().count();
    CHECK(d == b.next().count());  // same seed, same delays
    CHECK(d >= static_cast<int64_t>(base * 0.8) - 1);
    CHECK(d <= static_cast<int64_t>(base * 1.2) + 1);
    seen.push_back(d);
    base = std::min(base * 2, 30000.0);
  }
  CHECK(seen.back() >= 24000);
  a.reset();
  CHECK(a.next().count() <= 601);
  cfg.seed = 43;
  Backoff c(cfg);
  bool differs = false;
  Backoff a2(BackoffConfig{cfg.initial, cfg.max, 2.0, 0.2, 42});
  for (int i = 0; i < 5; ++i) differs |= c.next() != a2.next();
  CHECK(differs);
}

TEST_CASE("a fake clock advances only when slept on") {
  FakeClock clock;
  const auto t0 = clock.now();
  BackoffConfig cfg;
  cfg.seed = 1;
  Backoff backoff(cfg);
  std::chrono::milliseconds total{0};
  for (int i = 0; i < 4; ++i) {
    const auto d = backoff.next();
    total += d;
    clock.sleep_for(d);
  }
  CHECK(clock.now() - t0 == total);
  CHECK(total >= std::chrono::milliseconds(static_cast<int64_t>(0.8 * (500 + 1000 + 2000 + 4000))));
}

TEST_CASE("the directory state store round-trips and starts empty") {
  // Two levels that do not exist yet: a fresh device's state directory.
  const std::string dir = temp_dir() + "/var/state";
  DirStateStore store(dir);
  AgentState s = store.load().value();
  CHECK(s.last_completed_round == -1);
  CHECK_FALSE(s.already_sent(1));
  s.model_identity = 0xdeadbeef12345678ULL;
  s.record_sent(6, 9);
  s.record_sent(7, 3);
  s.updates_sent = 5;
  REQUIRE(store.save(s).is_ok());
  const AgentState r = DirStateStore(dir).load().value();
  CHECK(r.model_identity == s.model_identity);
  CHECK(r.last_answered_task() == 3);
  CHECK(r.last_completed_round == 7);
  CHECK(r.updates_sent == 5);
  CHECK(r.already_sent(3));
  CHECK(r.already_sent(9));
  CHECK_FALSE(r.already_sent(4));
  REQUIRE(write_file_atomic(store.path(), std::string_view("sent_round = [")).is_ok());
  const auto bad = store.load();
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().message().find("agent_state.toml") != std::string::npos);
  REQUIRE(
      write_file_atomic(store.path(), std::string_view("answered_tasks = [1, \"two\"]\n")).is_ok());
  const auto bad_id = store.load();
  REQUIRE_FALSE(bad_id.is_ok());
  CHECK(bad_id.status().message().find("answered_tasks") != std::string::npos);
}

TEST_CASE("the state remembers the last answered task ids, and reads a file without them") {
  AgentState s;
  for (uint64_t id = 1; id <= AgentState::kRememberedTasks + 2; ++id) {
    s.record_sent(static_cast<int64_t>(id), id * 10);
  }
  CHECK(s.answered_tasks.size() == AgentState::kRememberedTasks);
  CHECK_FALSE(s.already_sent(10));  // the oldest ones are forgotten
  CHECK_FALSE(s.already_sent(20));
  CHECK(s.already_sent(30));
  CHECK(s.already_sent((AgentState::kRememberedTasks + 2) * 10));
  CHECK(s.updates_sent == static_cast<int64_t>(AgentState::kRememberedTasks + 2));

  // A state file of an agent from before answered_tasks: its last update counts.
  const std::string dir = temp_dir();
  DirStateStore store(dir);
  REQUIRE(
      write_file_atomic(store.path(), std::string_view("model_identity = \"00000000000000ff\"\n"
                                                       "last_completed_round = 4\nsent_round = 4\n"
                                                       "sent_task = 41\nupdates_sent = 4\n"))
          .is_ok());
  const AgentState old = store.load().value();
  CHECK(old.already_sent(41));
  CHECK_FALSE(old.already_sent(40));
  CHECK(old.last_completed_round == 4);
  CHECK(old.last_answered_task() == 41);
}

TEST_CASE("agent config: TOML, unknown keys, validation and round trip") {
  AgentConfig c;
  REQUIRE(
      apply_agent_config_toml("device_id = \"pi-7\"\n[aggregator]\naddress = \"10.0.0.2:9000\"\n"
                              "insecure = true\n[data]\nclient_index = 7\n",
                              "test.toml", c)
          .is_ok());
  CHECK(c.device_id == "pi-7");
  CHECK(c.aggregator.insecure);
  CHECK(c.data.client_index == 7);
  CHECK(c.validate().is_ok());

  AgentConfig d;
  const Status unknown = apply_agent_config_toml("[data]\nclinets = 3\n", "x.toml", d);
  CHECK(unknown.message().find("data.clinets") != std::string::npos);
  const Status type = apply_agent_config_toml("threads = \"four\"\n", "x.toml", d);
  CHECK(type.message().find("threads") != std::string::npos);
  d.data.client_index = 100;
  CHECK(d.validate().message().find("client_index 100") != std::string::npos);

  CHECK(apply_agent_config_toml("[backoff]\nseed = -3\n", "x.toml", d)
            .message()
            .find("backoff.seed") != std::string::npos);
  CHECK(apply_agent_config_toml("[tls]\ncert = 5\n", "x.toml", d).message().find("tls.cert") !=
        std::string::npos);

  AgentConfig e;
  c.backoff.jitter = 0.123456789;
  c.tls.cert = "/etc/nf-agent/\"quoted\".crt";
  REQUIRE(apply_agent_config_toml(format_agent_config(c), "printed", e).is_ok());
  CHECK(format_agent_config(e) == format_agent_config(c));
  CHECK(e.backoff.jitter == c.backoff.jitter);
  CHECK(e.tls.cert == c.tls.cert);
  CHECK(e.data.client_index == 7);
}

TEST_CASE("with TLS the certificate's CN is the identity; device_id is the insecure fallback") {
  const std::string dir = temp_dir();
  CertificateRequest ca_request;
  ca_request.common_name = "test CA";
  ca_request.is_ca = true;
  const PemPair ca = make_ca_certificate(ca_request).value();
  CertificateRequest device_request;
  device_request.common_name = "pi-007";
  const PemPair device = make_signed_certificate(device_request, ca).value();
  REQUIRE(write_pem_pair(device, dir + "/device.crt", dir + "/device.key").is_ok());
  CHECK(certificate_common_name(dir + "/device.crt").value() == "pi-007");

  AgentConfig c;
  c.tls.cert = dir + "/device.crt";
  CHECK(resolve_device_identity(c).value() == "pi-007");
  c.device_id = "pi-007";
  CHECK(resolve_device_identity(c).value() == "pi-007");
  c.device_id = "pi-001";
  const auto mismatch = resolve_device_identity(c);
  REQUIRE_FALSE(mismatch.is_ok());
  CHECK(mismatch.status().message().find("device_id 'pi-001' differs from 'pi-007'") !=
        std::string::npos);

  // Insecure TCP: no certificate is read, device_id names the device.
  c.aggregator.insecure = true;
  c.tls.cert = dir + "/missing.crt";
  CHECK(resolve_device_identity(c).value() == "pi-001");
  c.device_id.clear();
  CHECK(resolve_device_identity(c).value() == kDefaultDeviceId);

  c.aggregator.insecure = false;
  const auto missing = resolve_device_identity(c);
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message().find("missing.crt") != std::string::npos);
  REQUIRE(write_file_atomic(dir + "/junk.crt", std::string_view("not a certificate")).is_ok());
  const auto junk = certificate_common_name(dir + "/junk.crt");
  REQUIRE_FALSE(junk.is_ok());
  CHECK(junk.status().message().find("is not a PEM certificate") != std::string::npos);
}

TEST_CASE("peak RSS grows with touched memory") {
  const int64_t before = peak_rss_bytes();
  CHECK(before > 0);
  std::vector<char> block(32 << 20, 1);
  // Written through a volatile pointer: Clang at -O3 otherwise removes the
  // whole unused allocation and no page is ever touched.
  volatile char* pages = block.data();
  for (size_t i = 0; i < block.size(); i += 4096) pages[i] = static_cast<char>(i);
  CHECK(peak_rss_bytes() >= before + (16 << 20));
  CHECK(pages[4096] == 0);  // 4096 as a char
  CHECK(current_rss_bytes() > 0);
}

}  // namespace
}  // namespace nf
