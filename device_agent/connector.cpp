#include "device_agent/connector.h"

#include "transports/tcp.h"

namespace nf {

Result<Connector> make_agent_connector(asio::any_io_executor executor, const AgentConfig& config) {
  NF_ASSIGN_OR_RETURN(auto host_port, parse_host_port(config.aggregator.address));
  if (!config.aggregator.insecure) {
    return failed_precondition(
        "mutual TLS is not available in this build yet; use --insecure for plain TCP");
  }
  return Connector(
      [executor, host = host_port.first,
       port = host_port.second]() -> asio::awaitable<Result<std::unique_ptr<Connection>>> {
        co_return co_await connect_tcp(executor, host, port);
      });
}

}  // namespace nf
