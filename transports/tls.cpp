#include "transports/tls.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <cassert>

#include "transports/detail/await.h"
#include "transports/detail/mailbox.h"
#include "transports/detail/tcp_stream.h"
#include "transports/tls/tls_engine.h"

namespace nf {

namespace {

using Clock = std::chrono::steady_clock;
// Ciphertext batched before a socket write, to bound memory per connection:
// one full record (16 KiB of plaintext) goes out at once, so the output and
// in-flight buffers stay record-sized rather than growing to 128 KiB each
// while a model-sized frame is encrypted (nf-agent's footprint, and the
// aggregator's per device).
constexpr size_t kFlushBytes = 16 * 1024;
constexpr size_t kCipherReadBytes = 17 * 1024;  // one full TLS record

// TLS over a TCP stream, as a byte stream: the session encrypts into memory
// and this class moves the ciphertext (see tls_engine.h).
class TlsStream final : public detail::ByteStream {
 public:
  TlsStream(std::unique_ptr<detail::TcpStream> tcp, std::shared_ptr<const TlsContext> context)
      : tcp_(std::move(tcp)), session_(std::move(context)), cipher_in_(kCipherReadBytes) {}

  Status init() { return session_.init(); }

  asio::awaitable<Status> handshake() {
    for (;;) {
      Result<bool> done = session_.handshake();
      // Flush even on failure: the output may hold the alert that tells the peer why.
      Status flushed = co_await flush();
      if (!done.is_ok()) co_return done.status();
      if (!flushed.is_ok()) co_return flushed;
      if (*done) co_return Status::ok();
      Status s = co_await pull();
      if (!s.is_ok()) co_return s.with_context("TLS handshake");
    }
  }

  asio::awaitable<Result<size_t>> read_some(std::span<uint8_t> buffer) override {
    for (;;) {
      Result<size_t> n = session_.read(buffer);
      if (!n.is_ok()) co_return n.status();
      if (*n > 0) co_return *n;
      Status s = co_await pull();
      if (!s.is_ok()) co_return s;
    }
  }

  asio::awaitable<Status> write_all(std::span<const uint8_t> head,
                                    std::span<const uint8_t> body) override {
    for (std::span<const uint8_t> part : {head, body}) {
      while (!part.empty()) {
        Result<size_t> n = session_.write(part);
        if (!n.is_ok()) co_return n.status();
        part = part.subspan(*n);
        if (session_.output().size() >= kFlushBytes) {
          Status s = co_await flush();
          if (!s.is_ok()) co_return s;
        }
      }
    }
    co_return co_await flush();
  }

  void close() override { tcp_->close(); }
  bool is_open() const override { return tcp_->is_open(); }
  asio::any_io_executor executor() const override { return tcp_->executor(); }
  const std::string& remote() const { return tcp_->remote(); }
  std::string peer_common_name() const { return session_.peer_common_name(); }

 private:
  // Sends pending ciphertext. The bytes move to sending_ first, so that a
  // reader producing output meanwhile never touches the buffer in flight.
  asio::awaitable<Status> flush() {
    if (session_.output().empty()) co_return Status::ok();
    sending_.clear();
    sending_.swap(session_.output());
    co_return co_await tcp_->write_all(sending_, {});
  }

  asio::awaitable<Status> pull() {
    Result<size_t> n = co_await tcp_->read_some(cipher_in_);
    if (!n.is_ok()) co_return n.status();
    session_.feed(std::span<const uint8_t>(cipher_in_).first(*n));
    co_return Status::ok();
  }

  std::unique_ptr<detail::TcpStream> tcp_;
  TlsSession session_;
  std::vector<uint8_t> cipher_in_;
  std::vector<uint8_t> sending_;
};

// Runs the handshake within `timeout`; on success returns the connection.
asio::awaitable<Result<std::unique_ptr<Connection>>> secure(std::unique_ptr<detail::TcpStream> tcp,
                                                            std::shared_ptr<TlsContext> context,
                                                            const LinkOptions& options,
                                                            std::chrono::milliseconds timeout) {
  const std::string remote = tcp->remote();
  auto stream = std::make_unique<TlsStream>(std::move(tcp), std::move(context));
  Status s = stream->init();
  if (!s.is_ok()) co_return s;
  std::optional<Status> done = co_await detail::with_timeout(stream->handshake(), timeout);
  if (!done.has_value()) {
    co_return deadline_exceeded("TLS handshake with " + remote + " took over " +
                                std::to_string(timeout.count()) + " ms");
  }
  if (!done->is_ok()) co_return done->with_context(remote);
  std::string identity = stream->peer_common_name();
  if (identity.empty()) co_return permission_denied(remote + ": peer certificate has no CN");
  co_return std::unique_ptr<Connection>(
      std::make_unique<detail::StreamConnection>(std::move(stream), options, std::move(identity)));
}

struct ListenerState {
  ListenerState(asio::ip::tcp::acceptor a, std::shared_ptr<TlsContext> c, TlsListenerOptions o)
      : acceptor(std::move(a)),
        context(std::move(c)),
        options(std::move(o)),
        ready(acceptor.get_executor()) {}
  asio::ip::tcp::acceptor acceptor;
  std::shared_ptr<TlsContext> context;
  TlsListenerOptions options;
  detail::Mailbox<std::unique_ptr<Connection>> ready;
  size_t pending_handshakes = 0;
  bool closed = false;  // set by close(): no more callbacks or new connections
  std::string address;
};

asio::awaitable<void> run_handshake(std::shared_ptr<ListenerState> state,
                                    std::unique_ptr<detail::TcpStream> tcp) {
  const std::string remote = tcp->remote();
  auto c = co_await secure(std::move(tcp), state->context, state->options.link,
                           state->options.link.connect_timeout);
  --state->pending_handshakes;
  if (state->closed) co_return;
  if (!c.is_ok()) {
    if (state->options.on_rejected) state->options.on_rejected(remote, c.status());
  } else {
    state->ready.push(std::move(*c));
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<ListenerState> state) {
  while (state->acceptor.is_open()) {
    auto [ec, socket] = co_await state->acceptor.async_accept(detail::kUseTuple);
    if (ec) {
      if (!state->acceptor.is_open()) break;
      continue;  // a peer that vanished during accept; keep serving the others
    }
    auto tcp = std::make_unique<detail::TcpStream>(std::move(socket));
    if (state->closed) break;
    if (state->pending_handshakes >= state->options.max_pending_handshakes) {
      if (state->options.on_rejected) {
        state->options.on_rejected(tcp->remote(), unavailable("too many pending TLS handshakes"));
      }
      continue;  // closes the socket
    }
    ++state->pending_handshakes;
    asio::co_spawn(state->acceptor.get_executor(), run_handshake(state, std::move(tcp)),
                   asio::detached);
  }
  state->ready.close();
}

class TlsListener final : public Listener {
 public:
  explicit TlsListener(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {
    asio::co_spawn(state_->acceptor.get_executor(), accept_loop(state_), asio::detached);
  }
  ~TlsListener() override { close(); }

  asio::awaitable<Result<std::unique_ptr<Connection>>> accept(
      std::chrono::milliseconds timeout) override {
    std::unique_ptr<Connection> c;
    Status s = co_await state_->ready.pop(&c, Clock::now() + timeout, "TLS connection");
    if (!s.is_ok()) co_return s.with_context("accepting on " + state_->address);
    co_return std::move(c);
  }
  void close() override {
    state_->closed = true;
    asio::error_code ec;
    state_->acceptor.close(ec);
    state_->ready.close_and_clear();
  }
  std::string address() const override { return state_->address; }

 private:
  std::shared_ptr<ListenerState> state_;
};

}  // namespace

Result<std::unique_ptr<Listener>> listen_tls(asio::any_io_executor executor,
                                             const std::string& host, uint16_t port,
                                             std::shared_ptr<TlsContext> context,
                                             TlsListenerOptions options) {
  assert(context != nullptr && context->role() == TlsRole::kServer);
  NF_ASSIGN_OR_RETURN(auto acceptor, detail::open_acceptor(executor, host, port));
  auto state =
      std::make_shared<ListenerState>(std::move(acceptor), std::move(context), std::move(options));
  asio::error_code ec;
  state->address = detail::endpoint_text(state->acceptor.local_endpoint(ec));
  return std::unique_ptr<Listener>(std::make_unique<TlsListener>(std::move(state)));
}

asio::awaitable<Result<std::unique_ptr<Connection>>> connect_tls(
    asio::any_io_executor executor, std::string host, uint16_t port,
    std::shared_ptr<TlsContext> context, LinkOptions options) {
  assert(context != nullptr && context->role() == TlsRole::kClient);
  const auto start = Clock::now();
  auto tcp = co_await detail::connect_stream(executor, host, port, options.connect_timeout);
  if (!tcp.is_ok()) co_return tcp.status();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options.connect_timeout -
                                                                          (Clock::now() - start));
  co_return co_await secure(std::move(*tcp), std::move(context), options,
                            std::max(left, std::chrono::milliseconds(1)));
}

}  // namespace nf
