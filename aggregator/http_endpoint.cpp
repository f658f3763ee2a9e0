#include "aggregator/http_endpoint.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>

namespace nf::aggregator {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

struct HttpEndpoint::Impl {
  tcp::acceptor acceptor;
  HttpHandlers handlers;
  explicit Impl(asio::any_io_executor ex) : acceptor(ex) {}
};

namespace {

std::string response(int code, const char* reason, const std::string& type, const std::string& body,
                     bool head) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
                  "\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                  "Content-Security-Policy: default-src 'self'; script-src 'unsafe-inline'; "
                  "style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n";
  if (!head) r += body;
  return r;
}

asio::awaitable<void> serve_one(std::shared_ptr<HttpEndpoint::Impl> impl, tcp::socket socket) {
  asio::streambuf buffer(8192);
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(std::chrono::seconds(10));
  auto result = co_await (asio::async_read_until(socket, buffer, "\r\n\r\n", kTuple) ||
                          timer.async_wait(kTuple));
  if (result.index() != 0) co_return;  // timed out
  auto [ec, n] = std::get<0>(result);
  std::string reply;
  if (ec) {
    if (ec != asio::error::not_found) co_return;
    reply = response(431, "Request Header Fields Too Large", "text/plain", "too large\n", false);
  } else {
    std::string request(asio::buffers_begin(buffer.data()),
                        asio::buffers_begin(buffer.data()) + static_cast<ptrdiff_t>(n));
    const auto line_end = request.find("\r\n");
    const std::string line = request.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    const std::string method = line.substr(0, sp1);
    std::string path = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
      reply = response(405, "Method Not Allowed", "text/plain", "read-only: GET only\n", false);
    } else if (path == "/" || path == "/index.html") {
      reply = response(200, "OK", "text/html; charset=utf-8",
                       live_page_html(impl->handlers.state_json()), head);
    } else if (path == "/metrics") {
      reply = response(200, "OK", "text/plain; version=0.0.4", impl->handlers.metrics_text(), head);
    } else if (path == "/api/state") {
      reply = response(200, "OK", "application/json", impl->handlers.state_json(), head);
    } else {
      reply = response(404, "Not Found", "text/plain", "not found\n", head);
    }
  }
  co_await asio::async_write(socket, asio::buffer(reply), kTuple);
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<HttpEndpoint::Impl> impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(kTuple);
    if (ec) {
      if (!impl->acceptor.is_open()) co_return;
      continue;  // e.g. EMFILE: keep serving once descriptors free up
    }
    asio::co_spawn(impl->acceptor.get_executor(), serve_one(impl, std::move(socket)),
                   asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(asio::any_io_executor executor,
                                                          const std::string& host, uint16_t port,
                                                          HttpHandlers handlers) {
  auto impl = std::make_shared<Impl>(executor);
  impl->handlers = std::move(handlers);
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return invalid_argument("HTTP address '" + host + "': " + ec.message());
  const tcp::endpoint endpoint(address, port);
  if (impl->acceptor.open(endpoint.protocol(), ec); ec) {
    return io_error("HTTP socket: " + ec.message());
  }
  impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (impl->acceptor.bind(endpoint, ec); ec) {
    return unavailable("cannot bind HTTP endpoint " + host + ":" + std::to_string(port) + ": " +
                       ec.message());
  }
  if (impl->acceptor.listen(64, ec); ec) return io_error("HTTP listen: " + ec.message());
  asio::co_spawn(executor, accept_loop(impl), asio::detached);
  return std::unique_ptr<HttpEndpoint>(new HttpEndpoint(std::move(impl)));
}

HttpEndpoint::~HttpEndpoint() {
  stop();
}

uint16_t HttpEndpoint::port() const {
  asio::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpEndpoint::stop() {
  // Closing must happen on the endpoint's executor; post it there.
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    asio::error_code ec;
    impl->acceptor.close(ec);
  });
}

}  // namespace nf::aggregator
