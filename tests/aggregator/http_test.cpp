#include <doctest/doctest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <thread>

#include "aggregator/http_endpoint.h"

namespace nf::aggregator {

namespace {

std::string request(uint16_t port, const std::string& text) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(text));
  std::string reply;
  asio::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    reply.append(buf, n);
    if (ec) break;
  }
  return reply;
}

}  // namespace

TEST_CASE("the endpoint serves the page, /metrics and /api/state, and nothing else") {
  asio::io_context io;
  int state_calls = 0;
  HttpHandlers h{[] { return std::string("nf_aggregator_round 3\n"); },
                 [&] {
                   ++state_calls;
                   return std::string(R"({"round":3})");
                 }};
  auto ep = HttpEndpoint::start(io.get_executor(), "127.0.0.1", 0, h);
  REQUIRE(ep.is_ok());
  const uint16_t port = (*ep)->port();
  std::thread t([&] { io.run(); });

  auto r = request(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.find("nf_aggregator_round 3") != std::string::npos);
  r = request(port, "GET /api/state HTTP/1.1\r\n\r\n");
  CHECK(r.find("{\"round\":3}") != std::string::npos);
  r = request(port, "GET / HTTP/1.1\r\n\r\n");
  CHECK(r.find("<svg id=\"chart\"") != std::string::npos);
  r = request(port, "POST /api/state HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(r.rfind("HTTP/1.1 405", 0) == 0);
  r = request(port, "GET /../../etc/passwd HTTP/1.1\r\n\r\n");
  CHECK(r.rfind("HTTP/1.1 404", 0) == 0);
  r = request(port, "GET / HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n");
  CHECK(r.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(state_calls == 2);

  (*ep)->stop();
  io.stop();
  t.join();
}

TEST_CASE("binding a bad address is an error naming it") {
  asio::io_context io;
  auto ep = HttpEndpoint::start(io.get_executor(), "not-an-ip", 0, {});
  CHECK(ep.status().message().find("not-an-ip") != std::string::npos);
}

}  // namespace nf::aggregator
