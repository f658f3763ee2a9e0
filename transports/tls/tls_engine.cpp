#include "transports/tls/tls_engine.h"

#include <mbedtls/error.h>
#include <mbedtls/oid.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace nf {

namespace {

// TLS 1.2 AEAD suites with ECDHE key exchange and ECDSA certificates only.
const int kCipherSuites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};

std::string verify_text(uint32_t flags) {
  char buf[512];
  const int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
  std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown");
  std::replace(text.begin(), text.end(), '\n', ';');
  while (!text.empty() && (text.back() == ';' || text.back() == ' ')) text.pop_back();
  return text;
}

const char* alert_name(int alert) {
  switch (alert) {
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
      return "handshake_failure";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
      return "bad_certificate";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
      return "certificate_expired";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
      return "unknown_ca";
    case MBEDTLS_SSL_ALERT_MSG_NO_CERT:
      return "no_certificate";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
      return "protocol_version";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
      return "insufficient_security";
    default:
      return "alert";
  }
}

}  // namespace

std::string mbedtls_error_text(int code) {
  char buf[256];
  mbedtls_strerror(code, buf, sizeof buf);
  return std::string(buf) + " (-0x" +
         [](int c) {
           char hex[16];
           std::snprintf(hex, sizeof hex, "%04x", static_cast<unsigned>(-c));
           return std::string(hex);
         }(code) +
         ")";
}

TlsContext::TlsContext() {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  mbedtls_x509_crt_init(&ca_);
  mbedtls_x509_crt_init(&cert_);
  mbedtls_pk_init(&key_);
  mbedtls_ssl_config_init(&config_);
}

TlsContext::~TlsContext() {
  mbedtls_ssl_config_free(&config_);
  mbedtls_pk_free(&key_);
  mbedtls_x509_crt_free(&cert_);
  mbedtls_x509_crt_free(&ca_);
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

Result<std::shared_ptr<TlsContext>> TlsContext::create(TlsRole role, const TlsFiles& files,
                                                       std::string server_name) {
  std::shared_ptr<TlsContext> c(new TlsContext());
  c->role_ = role;
  c->server_name_ = std::move(server_name);
  const char* personal = role == TlsRole::kServer ? "nf-tls-server" : "nf-tls-client";
  int rc = mbedtls_ctr_drbg_seed(&c->drbg_, mbedtls_entropy_func, &c->entropy_,
                                 reinterpret_cast<const unsigned char*>(personal),
                                 std::strlen(personal));
  if (rc != 0) return internal_error("seeding the TLS random generator: " + mbedtls_error_text(rc));
  if ((rc = mbedtls_x509_crt_parse_file(&c->ca_, files.ca_cert.c_str())) != 0) {
    return invalid_argument("CA certificate '" + files.ca_cert + "': " + mbedtls_error_text(rc));
  }
  if ((rc = mbedtls_x509_crt_parse_file(&c->cert_, files.cert.c_str())) != 0) {
    return invalid_argument("certificate '" + files.cert + "': " + mbedtls_error_text(rc));
  }
  if ((rc = mbedtls_pk_parse_keyfile(&c->key_, files.key.c_str(), nullptr)) != 0) {
    return invalid_argument("private key '" + files.key + "': " + mbedtls_error_text(rc));
  }
  if (!mbedtls_pk_can_do(&c->key_, MBEDTLS_PK_ECDSA)) {
    return invalid_argument("private key '" + files.key + "' is not an EC key (ECDSA suites only)");
  }
  const int endpoint = role == TlsRole::kServer ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
  rc = mbedtls_ssl_config_defaults(&c->config_, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                   MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return internal_error("TLS configuration: " + mbedtls_error_text(rc));
  mbedtls_ssl_conf_min_version(&c->config_, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&c->config_, MBEDTLS_SSL_MAJOR_VERSION_3,
                               MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_ciphersuites(&c->config_, kCipherSuites);
  mbedtls_ssl_conf_rng(&c->config_, mbedtls_ctr_drbg_random, &c->drbg_);
  mbedtls_ssl_conf_authmode(&c->config_, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&c->config_, &c->ca_, nullptr);
  mbedtls_ssl_conf_renegotiation(&c->config_, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  if ((rc = mbedtls_ssl_conf_own_cert(&c->config_, &c->cert_, &c->key_)) != 0) {
    return invalid_argument("certificate '" + files.cert + "' with key '" + files.key +
                            "': " + mbedtls_error_text(rc));
  }
  return c;
}

Result<std::shared_ptr<TlsContext>> make_tls_context(TlsRole role, const TlsFiles& files,
                                                     std::string server_name) {
  return TlsContext::create(role, files, std::move(server_name));
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context) : context_(std::move(context)) {
  assert(context_ != nullptr);
  mbedtls_ssl_init(&ssl_);
}

TlsSession::~TlsSession() {
  mbedtls_ssl_free(&ssl_);
}

Status TlsSession::init() {
  int rc = mbedtls_ssl_setup(&ssl_, context_->config());
  if (rc != 0) return internal_error("TLS session set-up: " + mbedtls_error_text(rc));
  if (context_->role() == TlsRole::kClient) {
    rc = mbedtls_ssl_set_hostname(&ssl_, context_->server_name().c_str());
    if (rc != 0)
      return invalid_argument("server name '" + context_->server_name() +
                              "': " + mbedtls_error_text(rc));
  }
  mbedtls_ssl_set_bio(&ssl_, this, &TlsSession::bio_send, &TlsSession::bio_recv, nullptr);
  return Status::ok();
}

int TlsSession::bio_send(void* self, const unsigned char* data, size_t size) {
  auto* s = static_cast<TlsSession*>(self);
  s->out_.insert(s->out_.end(), data, data + size);
  return static_cast<int>(size);
}

int TlsSession::bio_recv(void* self, unsigned char* data, size_t size) {
  auto* s = static_cast<TlsSession*>(self);
  const size_t have = s->in_.size() - s->in_begin_;
  if (have == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  const size_t n = std::min(have, size);
  std::memcpy(data, s->in_.data() + s->in_begin_, n);
  s->in_begin_ += n;
  if (s->in_begin_ == s->in_.size()) {
    s->in_.clear();
    s->in_begin_ = 0;
  }
  return static_cast<int>(n);
}

void TlsSession::feed(std::span<const uint8_t> ciphertext) {
  if (in_begin_ > 0 && in_begin_ >= in_.size() / 2) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_begin_));
    in_begin_ = 0;
  }
  in_.insert(in_.end(), ciphertext.begin(), ciphertext.end());
}

Status TlsSession::error_status(int code, const char* during) const {
  const std::string what = std::string(during) + ": ";
  if (code == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    return permission_denied(
        what + "peer certificate refused: " + verify_text(mbedtls_ssl_get_verify_result(&ssl_)));
  }
  if (code == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
    return permission_denied(what + "peer sent no certificate");
  }
  if (code == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    const int alert = ssl_.in_msg != nullptr ? ssl_.in_msg[1] : 0;
    return permission_denied(what + "peer refused the handshake with alert " +
                             std::to_string(alert) + " (" + alert_name(alert) + ")");
  }
  if (code == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
    return unavailable(what + "peer closed the session");
  return unavailable(what + mbedtls_error_text(code));
}

Result<bool> TlsSession::handshake() {
  const int rc = mbedtls_ssl_handshake(&ssl_);
  if (rc == 0) return true;
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return false;
  return error_status(rc, "TLS handshake");
}

Result<size_t> TlsSession::write(std::span<const uint8_t> plaintext) {
  if (plaintext.empty()) return size_t{0};
  const int rc = mbedtls_ssl_write(&ssl_, plaintext.data(), plaintext.size());
  if (rc > 0) return static_cast<size_t>(rc);
  // bio_send never refuses, so WANT_WRITE cannot happen; anything else is fatal.
  return error_status(rc, "TLS write");
}

Result<size_t> TlsSession::read(std::span<uint8_t> plaintext) {
  const int rc = mbedtls_ssl_read(&ssl_, plaintext.data(), plaintext.size());
  if (rc > 0) return static_cast<size_t>(rc);
  if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) return size_t{0};
  if (rc == 0) return unavailable("TLS read: peer closed the connection");
  return error_status(rc, "TLS read");
}

std::string TlsSession::peer_common_name() const {
  const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_);
  if (peer == nullptr) return {};
  for (const mbedtls_x509_name* n = &peer->subject; n != nullptr; n = n->next) {
    if (n->oid.p != nullptr && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
      return std::string(reinterpret_cast<const char*>(n->val.p), n->val.len);
    }
  }
  return {};
}

std::string TlsSession::description() const {
  return std::string(mbedtls_ssl_get_version(&ssl_)) + " " + mbedtls_ssl_get_ciphersuite(&ssl_);
}

}  // namespace nf
