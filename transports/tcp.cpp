#include "transports/tcp.h"

#include <asio/connect.hpp>
#include <asio/write.hpp>

#include <array>
#include <charconv>

#include "transports/detail/await.h"
#include "transports/detail/tcp_stream.h"

namespace nf {

namespace detail {

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

TcpStream::TcpStream(asio::ip::tcp::socket socket)
    : executor_(socket.get_executor()), socket_(std::move(socket)) {
  asio::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("unknown peer") : endpoint_text(ep);
  // Frames are whole messages: send them now rather than wait for more.
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

asio::awaitable<Result<size_t>> TcpStream::read_some(std::span<uint8_t> buffer) {
  auto [ec, n] =
      co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()), kUseTuple);
  if (ec == asio::error::eof) co_return unavailable("peer closed the connection");
  if (ec) co_return unavailable("read failed: " + ec.message());
  co_return n;
}

asio::awaitable<Status> TcpStream::write_all(std::span<const uint8_t> head,
                                             std::span<const uint8_t> body) {
  const std::array<asio::const_buffer, 2> buffers = {asio::buffer(head.data(), head.size()),
                                                     asio::buffer(body.data(), body.size())};
  auto [ec, n] = co_await asio::async_write(socket_, buffers, kUseTuple);
  if (ec) co_return unavailable("write failed: " + ec.message());
  co_return Status::ok();
}

void TcpStream::close() {
  if (!socket_.is_open()) return;
  asio::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

Result<asio::ip::tcp::acceptor> open_acceptor(asio::any_io_executor executor,
                                              const std::string& host, uint16_t port) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return invalid_argument("listen address '" + host + "' is not an IP address");
  const asio::ip::tcp::endpoint endpoint(address, port);
  asio::ip::tcp::acceptor acceptor(executor);
  const std::string where = host + ":" + std::to_string(port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return io_error("opening " + where + ": " + ec.message());
  acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return unavailable("binding " + where + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("listening on " + where + ": " + ec.message());
  return acceptor;
}

asio::awaitable<Result<std::unique_ptr<TcpStream>>> accept_stream(
    asio::ip::tcp::acceptor& acceptor, std::chrono::milliseconds timeout) {
  if (!acceptor.is_open()) co_return unavailable("listener is closed");
  auto r = co_await with_timeout(acceptor.async_accept(kUseTuple), timeout);
  if (!r.has_value())
    co_return deadline_exceeded("no connection within " + std::to_string(timeout.count()) + " ms");
  auto& [ec, socket] = *r;
  if (ec) co_return unavailable("accept failed: " + ec.message());
  co_return std::make_unique<TcpStream>(std::move(socket));
}

asio::awaitable<Result<std::unique_ptr<TcpStream>>> connect_stream(
    asio::any_io_executor executor, const std::string& host, uint16_t port,
    std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  auto attempt = [&]() -> asio::awaitable<Result<std::unique_ptr<TcpStream>>> {
    asio::ip::tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), kUseTuple);
    if (rec) co_return unavailable("resolving " + where + ": " + rec.message());
    asio::ip::tcp::socket socket(executor);
    auto [cec, ep] = co_await asio::async_connect(socket, endpoints, kUseTuple);
    if (cec) co_return unavailable("connecting to " + where + ": " + cec.message());
    co_return std::make_unique<TcpStream>(std::move(socket));
  };
  auto r = co_await with_timeout(attempt(), timeout);
  if (!r.has_value()) {
    co_return deadline_exceeded("connecting to " + where + " took over " +
                                std::to_string(timeout.count()) + " ms");
  }
  co_return std::move(*r);
}

}  // namespace detail

namespace {

class TcpListener final : public Listener {
 public:
  TcpListener(asio::ip::tcp::acceptor acceptor, const LinkOptions& options)
      : acceptor_(std::move(acceptor)), options_(options) {
    asio::error_code ec;
    address_ = detail::endpoint_text(acceptor_.local_endpoint(ec));
  }
  ~TcpListener() override { close(); }

  asio::awaitable<Result<std::unique_ptr<Connection>>> accept(
      std::chrono::milliseconds timeout) override {
    auto stream = co_await detail::accept_stream(acceptor_, timeout);
    if (!stream.is_ok()) co_return stream.status().with_context("accepting on " + address_);
    std::string peer = (*stream)->remote();
    co_return std::unique_ptr<Connection>(
        std::make_unique<detail::StreamConnection>(std::move(*stream), options_, std::move(peer)));
  }
  void close() override {
    asio::error_code ec;
    acceptor_.close(ec);
  }
  std::string address() const override { return address_; }

 private:
  asio::ip::tcp::acceptor acceptor_;
  LinkOptions options_;
  std::string address_;
};

}  // namespace

Result<std::unique_ptr<Listener>> listen_tcp(asio::any_io_executor executor,
                                             const std::string& host, uint16_t port,
                                             const LinkOptions& options) {
  NF_ASSIGN_OR_RETURN(auto acceptor, detail::open_acceptor(executor, host, port));
  return std::unique_ptr<Listener>(std::make_unique<TcpListener>(std::move(acceptor), options));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> connect_tcp(asio::any_io_executor executor,
                                                                 std::string host, uint16_t port,
                                                                 LinkOptions options) {
  auto stream = co_await detail::connect_stream(executor, host, port, options.connect_timeout);
  if (!stream.is_ok()) co_return stream.status();
  std::string peer = (*stream)->remote();
  co_return std::unique_ptr<Connection>(
      std::make_unique<detail::StreamConnection>(std::move(*stream), options, std::move(peer)));
}

Result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid_argument("address '" + address + "' is not host:port");
  }
  unsigned port = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port > 65535 || begin == end) {
    return invalid_argument("port in '" + address + "' is not a number from 0 to 65535");
  }
  return std::pair<std::string, uint16_t>(address.substr(0, colon), static_cast<uint16_t>(port));
}

}  // namespace nf
