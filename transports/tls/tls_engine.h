// The only place that talks to mbedTLS for the TLS transport (internal to
// transports): a shared configuration (TlsContext) and a per-connection
// session (TlsSession) driven as a byte pump. The session never touches a
// socket: ciphertext comes in through feed() and goes out through output();
// mbedTLS's bio callbacks return WANT_READ when input runs dry. A move to
// mbedTLS 3 (TLS 1.3) changes this file and tls_engine.cpp only.
//
// Policy: TLS 1.2 only, ECDHE-ECDSA with AEAD suites (AES-GCM,
// ChaCha20-Poly1305), mutual authentication against one CA, no
// renegotiation. Thread safety: a TlsContext may serve sessions on several
// threads; a TlsSession belongs to one.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/util/status.h"
#include "transports/tls.h"

namespace nf {

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  static Result<std::shared_ptr<TlsContext>> create(TlsRole role, const TlsFiles& files,
                                                    std::string server_name);
  TlsRole role() const { return role_; }
  const std::string& server_name() const { return server_name_; }
  const mbedtls_ssl_config* config() const { return &config_; }

 private:
  TlsContext();
  TlsRole role_ = TlsRole::kServer;
  std::string server_name_;
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_x509_crt ca_;
  mbedtls_x509_crt cert_;
  mbedtls_pk_context key_;
  mbedtls_ssl_config config_;
};

class TlsSession {
 public:
  // Precondition: context != nullptr. Check init() before use.
  explicit TlsSession(std::shared_ptr<const TlsContext> context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  Status init();

  // Ciphertext received from the peer.
  void feed(std::span<const uint8_t> ciphertext);
  // Ciphertext to send to the peer; the caller sends and clears it.
  std::vector<uint8_t>& output() { return out_; }

  // Advances the handshake: true when complete, false when it needs more
  // input (send output() first). Errors: kPermissionDenied for a refused
  // certificate (the message says why), kUnavailable for other failures.
  Result<bool> handshake();
  // Encrypts up to one record of `plaintext` into output(); returns the
  // bytes consumed (> 0 unless plaintext is empty).
  Result<size_t> write(std::span<const uint8_t> plaintext);
  // Decrypts into `plaintext`: bytes read, or 0 when more input is needed.
  // kUnavailable when the peer closed the session.
  Result<size_t> read(std::span<uint8_t> plaintext);

  // The subject CN of the peer's verified certificate ("" before the handshake).
  std::string peer_common_name() const;
  // "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", for logs and tests.
  std::string description() const;

 private:
  static int bio_send(void* self, const unsigned char* data, size_t size);
  static int bio_recv(void* self, unsigned char* data, size_t size);
  Status error_status(int code, const char* during) const;

  std::shared_ptr<const TlsContext> context_;
  mbedtls_ssl_context ssl_;
  std::vector<uint8_t> in_;
  size_t in_begin_ = 0;
  std::vector<uint8_t> out_;
};

// mbedtls_strerror's text for `code`.
std::string mbedtls_error_text(int code);

}  // namespace nf
