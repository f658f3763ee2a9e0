// Certificates for mutual TLS, made with mbedTLS's own writer: a CA, a server
// certificate and device certificates, all EC P-256 with SHA-256 signatures,
// X.509 v3. Used by `nf certs` and by the TLS tests. No mbedTLS type here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf {

struct CertificateRequest {
  std::string common_name;  // the identity: a device's id, the server's name
  // Validity window relative to now, in days. not_before may lie in the past
  // and not_after too, so that a test can make an expired certificate.
  int64_t not_before_days = 0;
  int64_t valid_days = 365;
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress entries (IPv4)
  bool is_ca = false;
};

struct PemPair {
  std::string cert;  // PEM certificate
  std::string key;   // PEM EC private key (keep it 0600)
};

// A self-signed CA. Errors: bad names or validity, mbedTLS failures.
Result<PemPair> make_ca_certificate(const CertificateRequest& request);
// A leaf (or, with is_ca, intermediate) certificate signed by `ca`.
Result<PemPair> make_signed_certificate(const CertificateRequest& request, const PemPair& ca);

// Writes both files atomically, the key with mode 0600.
Status write_pem_pair(const PemPair& pair, const std::string& cert_path,
                      const std::string& key_path);
// Reads a pair written by write_pem_pair.
Result<PemPair> read_pem_pair(const std::string& cert_path, const std::string& key_path);

}  // namespace nf
