#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "tests/transports/run_coro.h"
#include "tests/transports/test_messages.h"
#include "transports/inproc.h"
#include "transports/message_link.h"

namespace nf {
namespace {

using namespace std::chrono_literals;

TEST_CASE("in-process pair: frames both ways, timeouts keep the link, close is seen") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    auto [a, b] = make_inproc_pair(io.get_executor(), {}, "alice", "bob");
    CHECK(a->peer_identity() == "bob");
    CHECK(b->peer_identity() == "alice");
    std::vector<uint8_t> frame;
    Status s = co_await b->receive(&frame, 20ms);
    CHECK(s.code() == StatusCode::kDeadlineExceeded);
    const std::vector<uint8_t> hello = {1, 2, 3};
    CHECK((co_await a->send(hello)).is_ok());
    CHECK((co_await b->receive(&frame, 1s)).is_ok());
    CHECK(frame == hello);
    CHECK((co_await b->send(std::vector<uint8_t>{})).is_ok());
    CHECK((co_await a->receive(&frame, 1s)).is_ok());
    CHECK(frame.empty());
    a->close();
    s = co_await b->receive(&frame, 1s);
    CHECK(s.code() == StatusCode::kUnavailable);
    CHECK((co_await b->send(hello)).code() == StatusCode::kUnavailable);
  });
}

TEST_CASE("in-process: oversized frames are refused") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    LinkOptions options;
    options.max_frame_bytes = kMinMaxFrameBytes;
    auto [a, b] = make_inproc_pair(io.get_executor(), options, "a", "b");
    const std::vector<uint8_t> big(kMinMaxFrameBytes + 1);
    CHECK((co_await a->send(big)).code() == StatusCode::kInvalidArgument);
  });
}

TEST_CASE("in-process network: listen, connect, every message through a MessageLink") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    InprocNetwork net(io.get_executor());
    LinkOptions options;
    options.max_frame_bytes = 8192;  // forces chunks
    auto listener = net.listen("aggregator", options).value();
    CHECK(!net.listen("aggregator").is_ok());
    CHECK(!(co_await net.connect("nowhere", "x")).is_ok());
    Connector connect = net.connector("aggregator", "device-1");
    auto client = co_await connect();
    REQUIRE(client.is_ok());
    auto server = co_await listener->accept(1s);
    REQUIRE(server.is_ok());
    CHECK((*server)->peer_identity() == "device-1");
    MessageLink agent(std::move(*client));
    MessageLink aggregator(std::move(*server));
    for (const Message& m : testing::every_message(20000)) {
      CAPTURE(message_name(m));
      REQUIRE((co_await agent.send(m)).is_ok());
      Result<Message> got = co_await aggregator.receive(1s);
      REQUIRE_MESSAGE(got.is_ok(), got.status().to_string());
      CHECK(*got == m);
    }
    CHECK(aggregator.bytes_received() == agent.bytes_sent());
    auto none = co_await listener->accept(10ms);
    CHECK(none.status().code() == StatusCode::kDeadlineExceeded);
    listener->close();
    none = co_await listener->accept(10ms);
    CHECK(none.status().code() == StatusCode::kUnavailable);
  });
}

TEST_CASE("in-process: a bad frame gets an error back and closes the link") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    auto [a, b] = make_inproc_pair(io.get_executor(), {}, "attacker", "server");
    MessageLink server(std::move(b));
    CHECK((co_await a->send(std::vector<uint8_t>(64, 0xab))).is_ok());
    Result<Message> r = co_await server.receive(1s);
    CHECK(r.status().code() == StatusCode::kCorrupt);
    CHECK(!server.is_open());
    std::vector<uint8_t> frame;
    REQUIRE((co_await a->receive(&frame, 1s)).is_ok());
    MessageAssembler assembler(1 << 20);
    auto reply = assembler.add_frame(frame);
    REQUIRE(reply.is_ok());
    const auto* error = std::get_if<ErrorMessage>(&reply->value());
    REQUIRE(error != nullptr);
    CHECK(error->code == StatusCode::kCorrupt);
    CHECK(error->message.find("attacker") != std::string::npos);
    CHECK((co_await a->receive(&frame, 1s)).code() == StatusCode::kUnavailable);
  });
}

TEST_CASE("in-process: a receive cancelled by the caller's timeout leaves the link usable") {
  testing::run_coro([](asio::io_context& io) -> asio::awaitable<void> {
    auto [a, b] = make_inproc_pair(io.get_executor(), {}, "a", "b");
    MessageLink link(std::move(b));
    Result<Message> r = co_await link.receive(5ms);
    CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
    MessageLink sender(std::move(a));
    REQUIRE((co_await sender.send(Heartbeat{5, 6})).is_ok());
    r = co_await link.receive(1s);
    REQUIRE(r.is_ok());
    CHECK(std::get<Heartbeat>(*r).sequence == 5);
  });
}

}  // namespace
}  // namespace nf
