#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include "tests/transports/run_coro.h"
#include "tests/transports/test_messages.h"
#include "transports/detail/await.h"
#include "transports/message_link.h"
#include "transports/tcp.h"

namespace nf {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;

// A raw socket to the listener, for peers that misbehave.
asio::awaitable<tcp::socket> raw_connect(asio::io_context& io, const std::string& address) {
  auto [host, port] = parse_host_port(address).value();
  tcp::socket s(io);
  auto [ec] = co_await s.async_connect({asio::ip::make_address(host), port}, detail::kUseTuple);
  REQUIRE(!ec);
  co_return s;
}

TEST_CASE("TCP on 127.0.0.1: every message and encoding, chunked and whole") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    LinkOptions options;
    options.max_frame_bytes = 64 * 1024;
    auto listener = listen_tcp(io.get_executor(), "127.0.0.1", 0, options).value();
    auto [host, port] = parse_host_port(listener->address()).value();
    CHECK(host == "127.0.0.1");
    CHECK(port != 0);
    auto client = co_await connect_tcp(io.get_executor(), host, port, options);
    REQUIRE_MESSAGE(client.is_ok(), client.status().to_string());
    auto server = co_await listener->accept(5s);
    REQUIRE(server.is_ok());
    CHECK((*server)->peer_identity().rfind("127.0.0.1:", 0) == 0);
    MessageLink agent(std::move(*client));
    MessageLink aggregator(std::move(*server));
    // 266,610 values: the dense 784-300-100-10 model, in many 64 KiB frames.
    for (uint32_t n : {100u, 266610u}) {
      for (const Message& m : testing::every_message(n)) {
        CAPTURE(message_name(m));
        REQUIRE((co_await agent.send(m)).is_ok());
        Result<Message> got = co_await aggregator.receive(5s);
        REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
        CHECK(*got == m);
        REQUIRE((co_await aggregator.send(m)).is_ok());
        got = co_await agent.receive(5s);
        REQUIRE(got.is_ok());
        CHECK(*got == m);
      }
    }
    CHECK(aggregator.bytes_received() == agent.bytes_sent());
    Result<Message> none = co_await agent.receive(20ms);
    CHECK(none.status().code() == StatusCode::kDeadlineExceeded);
    REQUIRE((co_await aggregator.send(Heartbeat{1, 1})).is_ok());
    CHECK((co_await agent.receive(5s)).is_ok());  // still usable after a timeout
    aggregator.close();
    none = co_await agent.receive(5s);
    CHECK(none.status().code() == StatusCode::kUnavailable);
  });
}

TEST_CASE("TCP: an oversized length gets an error back and a closed connection") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    LinkOptions options;
    options.max_frame_bytes = kMinMaxFrameBytes;
    auto listener = listen_tcp(io.get_executor(), "127.0.0.1", 0, options).value();
    tcp::socket raw = co_await raw_connect(io, listener->address());
    MessageLink server((co_await listener->accept(5s)).value());
    const uint8_t prefix[4] = {0x00, 0x00, 0x00, 0x40};  // 1 GiB
    co_await asio::async_write(raw, asio::buffer(prefix), detail::kUseTuple);
    Result<Message> r = co_await server.receive(5s);
    CHECK(r.status().code() == StatusCode::kCorrupt);
    CHECK(r.status().message().find("frame length 1073741824") != std::string::npos);
    CHECK(!server.is_open());
    // The attacker reads an error frame, then end of stream.
    std::vector<uint8_t> got(1 << 16);
    size_t total = 0;
    for (;;) {
      auto [ec, n] = co_await raw.async_read_some(
          asio::buffer(got.data() + total, got.size() - total), detail::kUseTuple);
      total += n;
      if (ec) break;
    }
    REQUIRE(total > 4);
    MessageAssembler a(1 << 20);
    auto reply = a.add_frame(std::span<const uint8_t>(got.data() + 4, total - 4));
    REQUIRE(reply.is_ok());
    CHECK(std::get<ErrorMessage>(reply->value()).code == StatusCode::kCorrupt);
  });
}

TEST_CASE("TCP: bit-flipped and truncated frames never crash or block the server") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    auto listener = listen_tcp(io.get_executor(), "127.0.0.1", 0).value();
    std::vector<std::vector<uint8_t>> frames;
    REQUIRE(encode_message(testing::every_message(64)[3], kDefaultMaxFrameBytes, &frames).is_ok());
    // A stalled peer: announces 100 bytes, sends 10, then waits.
    tcp::socket stalled = co_await raw_connect(io, listener->address());
    MessageLink stalled_link((co_await listener->accept(5s)).value());
    const uint8_t partial[14] = {100, 0, 0, 0};
    co_await asio::async_write(stalled, asio::buffer(partial), detail::kUseTuple);
    CHECK((co_await stalled_link.receive(50ms)).status().code() == StatusCode::kDeadlineExceeded);
    // Meanwhile a peer sending a corrupted frame is refused; a good one is served.
    auto bad_client = (co_await connect_tcp(io.get_executor(), "127.0.0.1",
                                            parse_host_port(listener->address())->second))
                          .value();
    MessageLink bad_server((co_await listener->accept(5s)).value());
    std::vector<uint8_t> flipped = frames[0];
    flipped[5] ^= 0x02;  // in the file identifier
    REQUIRE((co_await bad_client->send(flipped)).is_ok());
    CHECK((co_await bad_server.receive(5s)).status().code() == StatusCode::kCorrupt);
    auto good_client = (co_await connect_tcp(io.get_executor(), "127.0.0.1",
                                             parse_host_port(listener->address())->second))
                           .value();
    MessageLink good_server((co_await listener->accept(5s)).value());
    REQUIRE((co_await good_client->send(frames[0])).is_ok());
    CHECK((co_await good_server.receive(5s)).is_ok());
    // The stalled peer closes mid-frame: its session ends with kUnavailable.
    stalled.close();
    CHECK((co_await stalled_link.receive(5s)).status().code() == StatusCode::kUnavailable);
  });
}

TEST_CASE("TCP: connecting to a closed port fails within the timeout") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    auto listener = listen_tcp(io.get_executor(), "127.0.0.1", 0).value();
    const uint16_t port = parse_host_port(listener->address())->second;
    listener->close();
    auto c = co_await connect_tcp(io.get_executor(), "127.0.0.1", port);
    CHECK(c.status().code() == StatusCode::kUnavailable);
    CHECK(!listen_tcp(io.get_executor(), "not-an-ip", 0).is_ok());
    CHECK(parse_host_port("localhost:99999").status().code() == StatusCode::kInvalidArgument);
  });
}

}  // namespace
}  // namespace nf
