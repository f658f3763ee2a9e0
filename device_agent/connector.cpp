#include "device_agent/connector.h"

#include "transports/tcp.h"
#include "transports/tls.h"

namespace nf {

Result<Connector> make_agent_connector(asio::any_io_executor executor, const AgentConfig& config) {
  NF_ASSIGN_OR_RETURN(auto host_port, parse_host_port(config.aggregator.address));
  // Plain copies: Clang 14 cannot capture structured bindings.
  const std::string host = host_port.first;
  const auto port = host_port.second;
  if (config.aggregator.insecure) {
    return Connector(
        [executor, host, port]() -> asio::awaitable<Result<std::unique_ptr<Connection>>> {
          co_return co_await connect_tcp(executor, host, port);
        });
  }
  const TlsFiles files{config.tls.ca, config.tls.cert, config.tls.key};
  NF_ASSIGN_OR_RETURN(std::shared_ptr<TlsContext> context,
                      make_tls_context(TlsRole::kClient, files, config.tls.server_name));
  return Connector(
      [executor, host, port, context]() -> asio::awaitable<Result<std::unique_ptr<Connection>>> {
        co_return co_await connect_tls(executor, host, port, context);
      });
}

}  // namespace nf
