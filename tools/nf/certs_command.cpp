// `nf certs`: a CA, a server certificate and device certificates for mutual
// TLS (EC P-256, made with mbedTLS through transports/tls/certificates.h).
//
//   nf certs ca --dir certs                      -> certs/ca.crt, certs/ca.key
//   nf certs server --dir certs                  -> certs/server.crt/.key (localhost, 127.0.0.1)
//   nf certs device --dir certs device-1 device-2 -> certs/device-1.crt/.key, ...
//
// --days sets the validity, --not-before-days shifts its start (negative: in
// the past), so `--not-before-days -30 --days 10` makes an expired
// certificate for tests. Files are written atomically, keys with mode 0600.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tools/nf/commands.h"
#include "transports/tls/certificates.h"

namespace nf::cli {

namespace {

struct CertsOptions {
  std::string dir = "certs";
  int64_t days = 365;
  int64_t not_before_days = 0;
  std::string name;
  std::vector<std::string> dns = {"localhost"};
  std::vector<std::string> ips = {"127.0.0.1"};
  std::vector<std::string> devices;
  bool force = false;
};

bool exists(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f != nullptr) std::fclose(f);
  return f != nullptr;
}

int fail(const Status& s) {
  std::fprintf(stderr, "nf certs: %s\n", s.to_string().c_str());
  return 1;
}

CertificateRequest request(const CertsOptions& o, const std::string& name) {
  CertificateRequest r;
  r.common_name = name;
  r.valid_days = o.days;
  r.not_before_days = o.not_before_days;
  return r;
}

int write_pair(const PemPair& pair, const std::string& stem) {
  // The directory holds private keys: create it owner-only when it is new.
  const std::filesystem::path dir = std::filesystem::path(stem).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::create_directories(dir, ec)) {
      return fail(io_error("cannot create directory '" + dir.string() + "': " + ec.message()));
    }
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  Status s = write_pem_pair(pair, stem + ".crt", stem + ".key");
  if (!s.is_ok()) return fail(s);
  std::printf("wrote %s.crt and %s.key (0600)\n", stem.c_str(), stem.c_str());
  return 0;
}

Result<PemPair> load_ca(const CertsOptions& o) {
  Result<PemPair> ca = read_pem_pair(o.dir + "/ca.crt", o.dir + "/ca.key");
  if (!ca.is_ok()) {
    return ca.status().with_context("loading the CA (make one with `nf certs ca --dir " + o.dir +
                                    "`)");
  }
  return ca;
}

int run_ca(const CertsOptions& o) {
  const std::string stem = o.dir + "/ca";
  if (!o.force && (exists(stem + ".crt") || exists(stem + ".key"))) {
    return fail(failed_precondition(stem + ".crt already exists: every certificate it signed "
                                           "depends on it (use --force to replace it)"));
  }
  Result<PemPair> ca = make_ca_certificate(request(o, o.name.empty() ? "NeuroFabric CA" : o.name));
  if (!ca.is_ok()) return fail(ca.status());
  return write_pair(*ca, stem);
}

int run_server(const CertsOptions& o) {
  Result<PemPair> ca = load_ca(o);
  if (!ca.is_ok()) return fail(ca.status());
  CertificateRequest r = request(o, o.name.empty() ? "localhost" : o.name);
  r.dns_names = o.dns;
  r.ip_addresses = o.ips;
  Result<PemPair> cert = make_signed_certificate(r, *ca);
  if (!cert.is_ok()) return fail(cert.status());
  return write_pair(*cert, o.dir + "/server");
}

int run_devices(const CertsOptions& o) {
  Result<PemPair> ca = load_ca(o);
  if (!ca.is_ok()) return fail(ca.status());
  for (const std::string& device : o.devices) {
    Result<PemPair> cert = make_signed_certificate(request(o, device), *ca);
    if (!cert.is_ok()) return fail(cert.status().with_context("device '" + device + "'"));
    if (int rc = write_pair(*cert, o.dir + "/" + device); rc != 0) return rc;
  }
  return 0;
}

void add_validity(CLI::App* cmd, CertsOptions* o) {
  cmd->add_option("--dir", o->dir, "Directory of the CA and the files written")
      ->capture_default_str();
  cmd->add_option("--days", o->days, "Validity in days, from the start")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--not-before-days", o->not_before_days,
                  "Start of validity relative to now, in days (negative: in the past; "
                  "with a short --days this makes an expired certificate)")
      ->capture_default_str();
}

}  // namespace

void add_certs_command(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<CertsOptions>();
  CLI::App* certs = app.add_subcommand(
      "certs", "Make a CA, a server certificate and device certificates for mutual TLS");
  certs->require_subcommand(1);

  CLI::App* ca = certs->add_subcommand("ca", "Make the CA: <dir>/ca.crt and ca.key");
  add_validity(ca, options.get());
  ca->add_option("--name", options->name, "The CA's common name (default: NeuroFabric CA)");
  ca->add_flag("--force", options->force, "Replace an existing CA");
  ca->callback([options, exit_code] { *exit_code = run_ca(*options); });

  CLI::App* server = certs->add_subcommand(
      "server", "Make the aggregator's certificate <dir>/server.crt and server.key");
  add_validity(server, options.get());
  server->add_option("--name", options->name, "Common name (default: localhost)");
  server->add_option("--dns", options->dns, "DNS names in subjectAltName")->capture_default_str();
  server->add_option("--ip", options->ips, "IPv4 addresses in subjectAltName")
      ->capture_default_str();
  server->callback([options, exit_code] { *exit_code = run_server(*options); });

  CLI::App* device = certs->add_subcommand(
      "device",
      "Make device certificates <dir>/<name>.crt and <name>.key; the name is the "
      "device's identity (its certificate CN)");
  add_validity(device, options.get());
  device->add_option("names", options->devices, "Device names")->required();
  device->callback([options, exit_code] { *exit_code = run_devices(*options); });
}

}  // namespace nf::cli
