// In-process transport: links without sockets between coroutines on one
// executor, for simulation and tests. The same aggregator and agent code runs
// over it as over TCP or TLS.
//
// Frames are copied into the peer's queue; send never waits (the queue is
// unbounded), receive waits with its timeout. The peer identity is the name
// each side gave. Everything must be used from the executor's one thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "transports/connection.h"

namespace nf {

// Two connected endpoints: first's peer_identity() is `second_name` and
// the other way round.
std::pair<std::unique_ptr<Connection>, std::unique_ptr<Connection>> make_inproc_pair(
    asio::any_io_executor executor, const LinkOptions& options, std::string first_name,
    std::string second_name);

// A registry of named in-process listeners, the simulation's "network".
// Must outlive the listeners it made; connections may outlive it.
class InprocNetwork {
 public:
  explicit InprocNetwork(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  ~InprocNetwork();

  // A listener reachable at `address`. Error: the address is taken.
  Result<std::unique_ptr<Listener>> listen(const std::string& address,
                                           const LinkOptions& options = {});

  // Connects to the listener at `address`, as `client_name` (the server
  // sees it as peer_identity()). Error kUnavailable: nobody listens there.
  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const std::string& address,
                                                               const std::string& client_name);

  // A Connector for an agent, copying `address` and `client_name`.
  Connector connector(std::string address, std::string client_name);

  struct ListenerState;  // internal

 private:
  asio::any_io_executor executor_;
  std::map<std::string, std::shared_ptr<ListenerState>> listeners_;
};

}  // namespace nf
