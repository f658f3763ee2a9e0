// TLS transport: mutual TLS 1.2 (mbedTLS) over the TCP transport. A device
// is its certificate: the server refuses peers without a certificate signed
// by its CA (expired and foreign ones included), and peer_identity() is the
// subject CN of the peer's certificate. No mbedTLS type appears here; the
// engine behind it is transports/tls/tls_engine.h.
//
// One io_context thread serves thousands of TLS connections: handshakes run
// as coroutines of their own, so a slow or hostile peer never delays accept()
// for the others.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "transports/connection.h"

namespace nf {

enum class TlsRole { kServer, kClient };

// PEM files: the CA that signs every party, this party's certificate and its
// private key (EC P-256, as `nf certs` makes them).
struct TlsFiles {
  std::string ca_cert;
  std::string cert;
  std::string key;
};

// Shared configuration and credentials (opaque). Thread-safe once made.
class TlsContext;

// Loads the files. For a client, `server_name` is the name the server's
// certificate must carry (a DNS SAN or its CN), "localhost" by default.
// Errors name the file and mbedTLS's reason.
Result<std::shared_ptr<TlsContext>> make_tls_context(TlsRole role, const TlsFiles& files,
                                                     std::string server_name = "localhost");

struct TlsListenerOptions {
  LinkOptions link;
  // Handshakes running at once; more connections are closed at once.
  size_t max_pending_handshakes = 4096;
  // Called for each refused or failed handshake (peer "address:port", why),
  // on the executor, until the listener is closed or destroyed.
  std::function<void(const std::string& peer, const Status& why)> on_rejected;
};

// Listens on host:port (0: ephemeral). Precondition: a server context.
Result<std::unique_ptr<Listener>> listen_tls(asio::any_io_executor executor,
                                             const std::string& host, uint16_t port,
                                             std::shared_ptr<TlsContext> context,
                                             TlsListenerOptions options = {});

// Connects and completes the handshake within options.connect_timeout.
// kPermissionDenied when either side refuses the other's certificate.
// Precondition: a client context.
asio::awaitable<Result<std::unique_ptr<Connection>>> connect_tls(
    asio::any_io_executor executor, std::string host, uint16_t port,
    std::shared_ptr<TlsContext> context, LinkOptions options = {});

}  // namespace nf
