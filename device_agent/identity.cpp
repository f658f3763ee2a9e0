#include "device_agent/identity.h"

#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include <cstdio>
#include <cstring>  // MBEDTLS_OID_CMP uses memcmp

namespace nf {

Result<std::string> certificate_common_name(const std::string& cert_path) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  // A positive result counts certificates of the file that did not parse;
  // the first one (the device's own) did.
  const int rc = mbedtls_x509_crt_parse_file(&crt, cert_path.c_str());
  std::string cn;
  bool found = false;
  if (rc >= 0) {
    for (const mbedtls_x509_name* n = &crt.subject; n != nullptr && !found; n = n->next) {
      if (n->oid.p != nullptr && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
        cn.assign(reinterpret_cast<const char*>(n->val.p), n->val.len);
        found = true;
      }
    }
  }
  mbedtls_x509_crt_free(&crt);
  if (rc == MBEDTLS_ERR_PK_FILE_IO_ERROR) {
    return not_found("cannot read the device certificate '" + cert_path + "'");
  }
  if (rc < 0) {
    char code[16];
    std::snprintf(code, sizeof code, "-0x%04x", -rc);
    return invalid_argument("the device certificate '" + cert_path +
                            "' is not a PEM certificate (mbedTLS error " + code + ")");
  }
  if (!found || cn.empty()) {
    return invalid_argument("the device certificate '" + cert_path +
                            "' has no subject CN: the aggregator would refuse it");
  }
  return cn;
}

Result<std::string> resolve_device_identity(const AgentConfig& config) {
  if (config.aggregator.insecure) {
    return config.device_id.empty() ? std::string(kDefaultDeviceId) : config.device_id;
  }
  NF_ASSIGN_OR_RETURN(std::string cn, certificate_common_name(config.tls.cert));
  if (!config.device_id.empty() && config.device_id != cn) {
    return invalid_argument("device_id '" + config.device_id + "' differs from '" + cn +
                            "', the CN of the device certificate '" + config.tls.cert +
                            "': with TLS the aggregator knows this device as '" + cn +
                            "'; leave device_id empty or set it to '" + cn + "'");
  }
  return cn;
}

}  // namespace nf
