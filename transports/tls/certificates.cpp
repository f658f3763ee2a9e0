#include "transports/tls/certificates.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <arpa/inet.h>

#include <cstring>
#include <ctime>

#include "core/util/file.h"
#include "transports/tls/tls_engine.h"

namespace nf {

namespace {

// RAII holders so every early return frees what mbedTLS allocated.
struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  Status seed() {
    static const char kPersonal[] = "nf-certs";
    const int rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                         reinterpret_cast<const unsigned char*>(kPersonal),
                                         sizeof kPersonal - 1);
    return rc == 0 ? Status::ok() : internal_error("seeding: " + mbedtls_error_text(rc));
  }
};
struct Pk {
  mbedtls_pk_context ctx;
  Pk() { mbedtls_pk_init(&ctx); }
  ~Pk() { mbedtls_pk_free(&ctx); }
};
struct Crt {
  mbedtls_x509_crt ctx;
  Crt() { mbedtls_x509_crt_init(&ctx); }
  ~Crt() { mbedtls_x509_crt_free(&ctx); }
};
struct Writer {
  mbedtls_x509write_cert ctx;
  Writer() { mbedtls_x509write_crt_init(&ctx); }
  ~Writer() { mbedtls_x509write_crt_free(&ctx); }
};
struct Mpi {
  mbedtls_mpi ctx;
  Mpi() { mbedtls_mpi_init(&ctx); }
  ~Mpi() { mbedtls_mpi_free(&ctx); }
};

Status check(int rc, const std::string& during) {
  return rc == 0 ? Status::ok() : internal_error(during + ": " + mbedtls_error_text(rc));
}

// "YYYYMMDDhhmmss" (UTC) for now + days.
std::string x509_time(int64_t days) {
  const std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

void der_length(std::string* out, size_t n) {
  if (n < 128) {
    out->push_back(static_cast<char>(n));
  } else if (n < 256) {
    out->push_back(static_cast<char>(0x81));
    out->push_back(static_cast<char>(n));
  } else {
    out->push_back(static_cast<char>(0x82));
    out->push_back(static_cast<char>(n >> 8));
    out->push_back(static_cast<char>(n & 0xff));
  }
}

// GeneralNames ::= SEQUENCE OF GeneralName: dNSName [2], iPAddress [7].
Result<std::string> subject_alt_names(const CertificateRequest& r) {
  std::string names;
  for (const auto& dns : r.dns_names) {
    names.push_back(static_cast<char>(0x82));
    der_length(&names, dns.size());
    names += dns;
  }
  for (const auto& ip : r.ip_addresses) {
    in_addr addr{};
    if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) {
      return invalid_argument("IP address '" + ip + "' for subjectAltName is not IPv4");
    }
    names.push_back(static_cast<char>(0x87));
    der_length(&names, 4);
    names.append(reinterpret_cast<const char*>(&addr), 4);
  }
  std::string seq(1, static_cast<char>(0x30));
  der_length(&seq, names.size());
  return seq + names;
}

Status check_request(const CertificateRequest& r) {
  if (r.common_name.empty()) return invalid_argument("certificate common name is empty");
  for (char c : r.common_name) {
    if (c == ',' || c == '=' || c == '+' || c == '\\' || c == '"' ||
        static_cast<unsigned char>(c) < 0x20) {
      return invalid_argument("common name '" + r.common_name +
                              "' may not contain , = + \\ \" or control characters");
    }
  }
  if (r.valid_days <= 0) {
    return invalid_argument("validity of " + std::to_string(r.valid_days) +
                            " days: must be at least 1");
  }
  return Status::ok();
}

Result<PemPair> make(const CertificateRequest& r, const PemPair* ca) {
  NF_RETURN_IF_ERROR(check_request(r));
  Rng rng;
  NF_RETURN_IF_ERROR(rng.seed());
  Pk key;
  NF_RETURN_IF_ERROR(
      check(mbedtls_pk_setup(&key.ctx, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), "key set-up"));
  NF_RETURN_IF_ERROR(check(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key.ctx),
                                               mbedtls_ctr_drbg_random, &rng.drbg),
                           "generating a P-256 key"));
  Pk ca_key;
  Crt ca_cert;
  std::string issuer = "CN=" + r.common_name;
  mbedtls_pk_context* issuer_key = &key.ctx;
  if (ca != nullptr) {
    int rc = mbedtls_x509_crt_parse(&ca_cert.ctx,
                                    reinterpret_cast<const unsigned char*>(ca->cert.c_str()),
                                    ca->cert.size() + 1);
    if (rc != 0) return invalid_argument("CA certificate: " + mbedtls_error_text(rc));
    rc = mbedtls_pk_parse_key(&ca_key.ctx, reinterpret_cast<const unsigned char*>(ca->key.c_str()),
                              ca->key.size() + 1, nullptr, 0);
    if (rc != 0) return invalid_argument("CA private key: " + mbedtls_error_text(rc));
    if (!ca_cert.ctx.ca_istrue) return invalid_argument("the issuing certificate is not a CA");
    char dn[512];
    if (mbedtls_x509_dn_gets(dn, sizeof dn, &ca_cert.ctx.subject) < 0) {
      return invalid_argument("CA subject name is too long");
    }
    issuer = dn;
    issuer_key = &ca_key.ctx;
  }
  Writer w;
  mbedtls_x509write_crt_set_version(&w.ctx, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w.ctx, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w.ctx, &key.ctx);
  mbedtls_x509write_crt_set_issuer_key(&w.ctx, issuer_key);
  unsigned char serial_bytes[16];
  NF_RETURN_IF_ERROR(check(mbedtls_ctr_drbg_random(&rng.drbg, serial_bytes, sizeof serial_bytes),
                           "serial number"));
  serial_bytes[0] =
      static_cast<unsigned char>((serial_bytes[0] & 0x7f) | 0x01);  // positive, 16 bytes
  Mpi serial;
  NF_RETURN_IF_ERROR(
      check(mbedtls_mpi_read_binary(&serial.ctx, serial_bytes, sizeof serial_bytes), "serial"));
  NF_RETURN_IF_ERROR(check(mbedtls_x509write_crt_set_serial(&w.ctx, &serial.ctx), "serial"));
  const std::string not_before = x509_time(r.not_before_days);
  const std::string not_after = x509_time(r.not_before_days + r.valid_days);
  NF_RETURN_IF_ERROR(
      check(mbedtls_x509write_crt_set_validity(&w.ctx, not_before.c_str(), not_after.c_str()),
            "validity"));
  const std::string subject = "CN=" + r.common_name;
  NF_RETURN_IF_ERROR(
      check(mbedtls_x509write_crt_set_subject_name(&w.ctx, subject.c_str()), "subject"));
  NF_RETURN_IF_ERROR(
      check(mbedtls_x509write_crt_set_issuer_name(&w.ctx, issuer.c_str()), "issuer"));
  NF_RETURN_IF_ERROR(
      check(mbedtls_x509write_crt_set_basic_constraints(&w.ctx, r.is_ca ? 1 : 0, r.is_ca ? 0 : -1),
            "basic constraints"));
  NF_RETURN_IF_ERROR(check(mbedtls_x509write_crt_set_subject_key_identifier(&w.ctx), "key id"));
  NF_RETURN_IF_ERROR(
      check(mbedtls_x509write_crt_set_authority_key_identifier(&w.ctx), "authority key id"));
  const unsigned int usage = r.is_ca ? (MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN)
                                     : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
  NF_RETURN_IF_ERROR(check(mbedtls_x509write_crt_set_key_usage(&w.ctx, usage), "key usage"));
  if (!r.dns_names.empty() || !r.ip_addresses.empty()) {
    NF_ASSIGN_OR_RETURN(std::string san, subject_alt_names(r));
    NF_RETURN_IF_ERROR(check(
        mbedtls_x509write_crt_set_extension(
            &w.ctx, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
            reinterpret_cast<const unsigned char*>(san.data()), san.size()),
        "subjectAltName"));
  }
  std::vector<unsigned char> buf(8192);
  NF_RETURN_IF_ERROR(check(
      mbedtls_x509write_crt_pem(&w.ctx, buf.data(), buf.size(), mbedtls_ctr_drbg_random, &rng.drbg),
      "writing the certificate"));
  PemPair out;
  out.cert = reinterpret_cast<const char*>(buf.data());
  std::fill(buf.begin(), buf.end(), 0);
  NF_RETURN_IF_ERROR(
      check(mbedtls_pk_write_key_pem(&key.ctx, buf.data(), buf.size()), "writing the key"));
  out.key = reinterpret_cast<const char*>(buf.data());
  std::fill(buf.begin(), buf.end(), 0);  // no private key left in freed memory
  return out;
}

}  // namespace

Result<PemPair> make_ca_certificate(const CertificateRequest& request) {
  CertificateRequest r = request;
  r.is_ca = true;
  return make(r, nullptr);
}

Result<PemPair> make_signed_certificate(const CertificateRequest& request, const PemPair& ca) {
  return make(request, &ca);
}

Status write_pem_pair(const PemPair& pair, const std::string& cert_path,
                      const std::string& key_path) {
  NF_RETURN_IF_ERROR(write_file_atomic(key_path, std::string_view(pair.key), 0600));
  return write_file_atomic(cert_path, std::string_view(pair.cert), 0644);
}

Result<PemPair> read_pem_pair(const std::string& cert_path, const std::string& key_path) {
  PemPair pair;
  NF_ASSIGN_OR_RETURN(pair.cert, read_text_file(cert_path));
  NF_ASSIGN_OR_RETURN(pair.key, read_text_file(key_path));
  return pair;
}

}  // namespace nf
