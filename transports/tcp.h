// TCP transport: frames over plain TCP sockets with Asio coroutines. Peer
// identity is the remote "address:port" (unauthenticated: use TLS where a
// device must prove who it is).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "transports/connection.h"

namespace nf {

// Listens on host:port; port 0 picks a free port (see Listener::address()).
// Errors name the address and the OS's reason.
Result<std::unique_ptr<Listener>> listen_tcp(asio::any_io_executor executor,
                                             const std::string& host, uint16_t port,
                                             const LinkOptions& options = {});

// Connects within options.connect_timeout.
asio::awaitable<Result<std::unique_ptr<Connection>>> connect_tcp(asio::any_io_executor executor,
                                                                 std::string host, uint16_t port,
                                                                 LinkOptions options = {});

// Splits "host:port" (the form Listener::address() returns).
Result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& address);

}  // namespace nf
