// TCP byte streams and their set-up (internal to transports): shared by the
// TCP transport and by TLS, which runs over the same streams.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "transports/detail/stream_connection.h"

namespace nf::detail {

class TcpStream final : public ByteStream {
 public:
  explicit TcpStream(asio::ip::tcp::socket socket);
  ~TcpStream() override { close(); }

  asio::awaitable<Result<size_t>> read_some(std::span<uint8_t> buffer) override;
  asio::awaitable<Status> write_all(std::span<const uint8_t> head,
                                    std::span<const uint8_t> body) override;
  void close() override;
  bool is_open() const override { return socket_.is_open(); }
  asio::any_io_executor executor() const override { return executor_; }
  // "address:port" of the peer, or "unknown peer".
  const std::string& remote() const { return remote_; }

 private:
  asio::any_io_executor executor_;
  asio::ip::tcp::socket socket_;
  std::string remote_;
};

// Opens a listening socket on host:port (port 0: an ephemeral one).
Result<asio::ip::tcp::acceptor> open_acceptor(asio::any_io_executor executor,
                                              const std::string& host, uint16_t port);

// Accepts one socket, waiting at most `timeout`.
asio::awaitable<Result<std::unique_ptr<TcpStream>>> accept_stream(
    asio::ip::tcp::acceptor& acceptor, std::chrono::milliseconds timeout);

// Resolves host and connects, all within `timeout`.
asio::awaitable<Result<std::unique_ptr<TcpStream>>> connect_stream(
    asio::any_io_executor executor, const std::string& host, uint16_t port,
    std::chrono::milliseconds timeout);

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint);

}  // namespace nf::detail
