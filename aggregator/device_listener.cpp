#include "aggregator/device_listener.h"

#include "transports/tcp.h"
#if __has_include("transports/tls.h")
#include "transports/tls.h"
#define NF_AGGREGATOR_HAS_TLS 1
#endif

namespace nf::aggregator {

Result<std::unique_ptr<Listener>> open_device_listener(asio::any_io_executor executor,
                                                       const AggregatorConfig& config) {
  NF_ASSIGN_OR_RETURN(const auto host_port, split_host_port(config.listen));
  LinkOptions link;
  if (config.insecure) return listen_tcp(executor, host_port.first, host_port.second, link);
#ifdef NF_AGGREGATOR_HAS_TLS
  auto context =
      make_tls_context(TlsRole::kServer, TlsFiles{config.tls_ca, config.tls_cert, config.tls_key});
  if (!context.is_ok()) return context.status().with_context("server TLS material");
  TlsListenerOptions options;
  options.link = link;
  return listen_tls(executor, host_port.first, host_port.second, std::move(context).value(),
                    options);
#else
  return failed_precondition("this build has no TLS transport yet; use --insecure");
#endif
}

}  // namespace nf::aggregator
