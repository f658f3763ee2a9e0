#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <cstdio>
#include <thread>

#include "tests/transports/run_coro.h"
#include "tests/transports/test_messages.h"
#include "tests/transports/tls_fixture.h"
#include "transports/detail/await.h"
#include "transports/message_link.h"
#include "transports/tcp.h"
#include "transports/tls.h"

namespace nf {
namespace {

using namespace std::chrono_literals;
using testing::TlsFixture;

struct Rejections {
  std::vector<std::string> reasons;
};

std::unique_ptr<Listener> tls_server(asio::io_context& io, Rejections* rejections,
                                     LinkOptions link = {}) {
  auto ctx = make_tls_context(TlsRole::kServer, TlsFixture::get().server);
  REQUIRE_MESSAGE(ctx.is_ok(), ctx.status().to_string());
  TlsListenerOptions options;
  options.link = link;
  options.link.connect_timeout = 5s;
  options.on_rejected = [rejections](const std::string&, const Status& why) {
    rejections->reasons.push_back(why.to_string());
  };
  return listen_tls(io.get_executor(), "127.0.0.1", 0, *ctx, options).value();
}

uint16_t port_of(const Listener& l) {
  return parse_host_port(l.address())->second;
}

TEST_CASE("TLS: mutual authentication, identities from the certificates, every message") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    Rejections rejections;
    LinkOptions link;
    link.max_frame_bytes = 256 * 1024;
    auto listener = tls_server(io, &rejections, link);
    auto ctx = make_tls_context(TlsRole::kClient, TlsFixture::get().device).value();
    auto client =
        co_await connect_tls(io.get_executor(), "127.0.0.1", port_of(*listener), ctx, link);
    REQUIRE_MESSAGE(client.is_ok(), client.status().to_string());
    CHECK((*client)->peer_identity() == "localhost");
    auto server = co_await listener->accept(5s);
    REQUIRE(server.is_ok());
    CHECK((*server)->peer_identity() == "device-1");
    MessageLink agent(std::move(*client));
    MessageLink aggregator(std::move(*server));
    for (uint32_t n : {10u, 266610u}) {
      for (const Message& m : testing::every_message(n)) {
        CAPTURE(message_name(m));
        REQUIRE((co_await agent.send(m)).is_ok());
        Result<Message> got = co_await aggregator.receive(10s);
        REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
        CHECK(*got == m);
      }
    }
    REQUIRE((co_await aggregator.send(Heartbeat{9, 9})).is_ok());
    Result<Message> hb = co_await agent.receive(5s);
    REQUIRE(hb.is_ok());
    CHECK(std::get<Heartbeat>(*hb).sequence == 9);
    CHECK((co_await agent.receive(20ms)).status().code() == StatusCode::kDeadlineExceeded);
    agent.close();
    CHECK((co_await aggregator.receive(5s)).status().code() == StatusCode::kUnavailable);
    CHECK(rejections.reasons.empty());
  });
}

TEST_CASE("TLS: the server refuses a device of another CA and an expired device") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    Rejections rejections;
    auto listener = tls_server(io, &rejections);
    for (const TlsFiles* files :
         {&TlsFixture::get().foreign_device, &TlsFixture::get().expired_device}) {
      auto ctx = make_tls_context(TlsRole::kClient, *files).value();
      auto c = co_await connect_tls(io.get_executor(), "127.0.0.1", port_of(*listener), ctx);
      CHECK(c.status().code() == StatusCode::kPermissionDenied);
      MESSAGE("client saw: ", c.status().to_string());
    }
    CHECK((co_await listener->accept(50ms)).status().code() == StatusCode::kDeadlineExceeded);
    REQUIRE(rejections.reasons.size() == 2);
    CHECK(rejections.reasons[0].find("not correctly signed") != std::string::npos);
    CHECK(rejections.reasons[1].find("expired") != std::string::npos);
    for (const auto& r : rejections.reasons) MESSAGE("server saw: ", r);
  });
}

TEST_CASE("TLS: a client refuses a server of another CA; garbage never stalls the server") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    Rejections rejections;
    auto listener = tls_server(io, &rejections);
    // A client trusting another CA (its own foreign cert's CA is not in the file:
    // use the foreign device's cert as CA list, which signs nothing here).
    TlsFiles distrust = TlsFixture::get().device;
    distrust.ca_cert = TlsFixture::get().foreign_device.cert;
    auto bad_ctx = make_tls_context(TlsRole::kClient, distrust);
    REQUIRE(bad_ctx.is_ok());
    auto c = co_await connect_tls(io.get_executor(), "127.0.0.1", port_of(*listener), *bad_ctx);
    CHECK(c.status().code() == StatusCode::kPermissionDenied);
    // A peer that sends plain text instead of a ClientHello, and one that sends nothing.
    asio::ip::tcp::socket junk(io), silent(io);
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_of(*listener));
    co_await junk.async_connect(ep, detail::kUseTuple);
    co_await silent.async_connect(ep, detail::kUseTuple);
    const std::string text = "GET / HTTP/1.1\r\n\r\n";
    co_await asio::async_write(junk, asio::buffer(text), detail::kUseTuple);
    // A good device still gets through at once.
    auto ctx = make_tls_context(TlsRole::kClient, TlsFixture::get().device).value();
    auto good = co_await connect_tls(io.get_executor(), "127.0.0.1", port_of(*listener), ctx);
    REQUIRE_MESSAGE(good.is_ok(), good.status().to_string());
    auto server = co_await listener->accept(5s);
    REQUIRE(server.is_ok());
    CHECK((*server)->peer_identity() == "device-1");
  });
}

// ---- interoperability with OpenSSL, spawned as a child process on loopback ----

std::string run_command(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST_CASE("TLS interop: openssl s_client with a device certificate completes a handshake") {
  asio::io_context io;
  Rejections rejections;
  auto listener = tls_server(io, &rejections);
  std::string identity;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto c = co_await listener->accept(20s);
        if (c.is_ok()) {
          identity = (*c)->peer_identity();
          // Send one frame so the client has application data to read.
          const std::vector<uint8_t> frame(2, 'n');
          (void)co_await (*c)->send(frame);
        }
      },
      asio::detached);
  std::thread server([&] { io.run_for(30s); });
  const auto& f = TlsFixture::get();
  for (const char* cipher : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    const std::string out = run_command(
        "timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port_of(*listener)) +
        " -tls1_2 -cipher " + cipher + " -cert " + f.device.cert + " -key " + f.device.key +
        " -CAfile " + f.device.ca_cert + " -verify_return_error -servername localhost </dev/null");
    CAPTURE(out);
    CHECK(out.find("Verify return code: 0 (ok)") != std::string::npos);
    CHECK(out.find(std::string("Cipher is ") + cipher) != std::string::npos);
  }
  // Without a certificate the server refuses the handshake.
  const std::string refused = run_command(
      "timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port_of(*listener)) +
      " -tls1_2 -CAfile " + f.device.ca_cert + " </dev/null");
  // The server ends the handshake (mbedTLS 2.28 sends no alert for a missing
  // certificate), so the client reads end of stream instead of its Finished.
  CHECK_MESSAGE((refused.find("unexpected eof") != std::string::npos ||
                 refused.find("alert") != std::string::npos),
                refused);
  io.stop();
  server.join();
  CHECK(identity == "device-1");
  bool no_cert_refused = false;
  for (const auto& r : rejections.reasons) {
    MESSAGE("server saw: ", r);
    no_cert_refused |= r.find("no certificate") != std::string::npos;
  }
  CHECK(no_cert_refused);
}

TEST_CASE("TLS interop: openssl s_server accepts our client and reads its frame") {
  // A port that was free a moment ago, for the child to listen on.
  uint16_t port;
  {
    asio::io_context probe;
    asio::ip::tcp::acceptor a(probe, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  const auto& f = TlsFixture::get();
  const std::string command =
      // s_server quits at end of stdin: keep it open for a few seconds.
      "sleep 4 | timeout 20 openssl s_server -accept 127.0.0.1:" + std::to_string(port) +
      " -tls1_2 -cert " + f.server.cert + " -key " + f.server.key + " -CAfile " + f.server.ca_cert +
      " -Verify 1 -verify_return_error -naccept 1 2>&1";
  FILE* child = ::popen(command.c_str(), "r");
  REQUIRE(child != nullptr);
  std::string out;
  char line[1024];
  while (std::fgets(line, sizeof line, child) != nullptr) {
    out += line;
    if (out.find("ACCEPT") != std::string::npos) break;
  }
  REQUIRE_MESSAGE(out.find("ACCEPT") != std::string::npos, out);
  testing::run_coro(
      [&](asio::io_context& io) -> asio::awaitable<void> {
        auto ctx = make_tls_context(TlsRole::kClient, f.device).value();
        auto c = co_await connect_tls(io.get_executor(), "127.0.0.1", port, ctx);
        if (!c.is_ok()) {
          size_t k;
          while ((k = std::fread(line, 1, sizeof line, child)) > 0) out.append(line, k);
        }
        REQUIRE_MESSAGE(c.is_ok(), c.status().to_string(), "\nopenssl s_server said:\n", out);
        CHECK((*c)->peer_identity() == "localhost");
        const std::string payload = "hello-from-neurofabric\n";
        CHECK((co_await (*c)->send(std::span<const uint8_t>(
                   reinterpret_cast<const uint8_t*>(payload.data()), payload.size())))
                  .is_ok());
        (*c)->close();
      },
      30s);
  size_t n;
  while ((n = std::fread(line, 1, sizeof line, child)) > 0) out.append(line, n);
  ::pclose(child);
  CAPTURE(out);
  CHECK(out.find("hello-from-neurofabric") != std::string::npos);
  CHECK(out.find("CN = device-1") != std::string::npos);
}

}  // namespace
}  // namespace nf
