// Certificates for the TLS suites, made once per process in a temporary
// directory: a CA, a server certificate for localhost/127.0.0.1, a device,
// a device of another CA and an expired device.
#pragma once

#include <doctest/doctest.h>

#include <stdlib.h>

#include <string>

#include "transports/tls.h"
#include "transports/tls/certificates.h"

namespace nf::testing {

struct TlsFixture {
  std::string dir;
  TlsFiles server, device, foreign_device, expired_device;

  static const TlsFixture& get() {
    static const TlsFixture f = make();
    return f;
  }

 private:
  static CertificateRequest request(const char* name, int64_t not_before_days, int64_t days) {
    CertificateRequest r;
    r.common_name = name;
    r.not_before_days = not_before_days;
    r.valid_days = days;
    return r;
  }
  static TlsFiles write(const std::string& dir, const std::string& name, const PemPair& pair,
                        const std::string& ca_file) {
    TlsFiles files{ca_file, dir + "/" + name + ".crt", dir + "/" + name + ".key"};
    REQUIRE(write_pem_pair(pair, files.cert, files.key).is_ok());
    return files;
  }

  static TlsFixture make() {
    TlsFixture f;
    char tmpl[] = "/tmp/nf_tls_test_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    f.dir = tmpl;
    const PemPair ca = make_ca_certificate(request("NeuroFabric Test CA", 0, 30)).value();
    const PemPair other_ca = make_ca_certificate(request("Another CA", 0, 30)).value();
    const std::string ca_file = f.dir + "/ca.crt";
    REQUIRE(write_pem_pair(ca, ca_file, f.dir + "/ca.key").is_ok());
    CertificateRequest server = request("localhost", 0, 30);
    server.dns_names = {"localhost"};
    server.ip_addresses = {"127.0.0.1"};
    f.server = write(f.dir, "server", make_signed_certificate(server, ca).value(), ca_file);
    f.device = write(f.dir, "device-1",
                     make_signed_certificate(request("device-1", 0, 30), ca).value(), ca_file);
    // Trusts our CA (so it could check the server) but is signed by another.
    f.foreign_device =
        write(f.dir, "foreign",
              make_signed_certificate(request("device-x", 0, 30), other_ca).value(), ca_file);
    f.expired_device =
        write(f.dir, "expired", make_signed_certificate(request("device-old", -30, 10), ca).value(),
              ca_file);
    return f;
  }
};

}  // namespace nf::testing
