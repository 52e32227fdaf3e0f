#include <sys/stat.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "server/tls.h"

namespace sigv4::cli {
namespace {

constexpr const char* kUsage =
    R"(Usage: sigv4-injector certs --service S --namespace N --out-dir D [flags]

Writes a CA (ca.crt) and a serving certificate and key it signed (tls.crt, tls.key; ECDSA P-256,
PEM) for the webhook Service: the SANs cover S, S.N, S.N.svc and S.N.svc.cluster.local.

Flags:
  --service S     the Service name (required)
  --namespace N   its namespace (required)
  --out-dir D     where to write ca.crt, tls.crt and tls.key (created if missing)
  --ip A          an extra IP address SAN; repeatable (tests use 127.0.0.1)
  --dns NAME      an extra DNS name SAN; repeatable
  --days N        validity in days (default 365)
  --help          print this help
)";

struct CertsOptions {
  std::string service;
  std::string ns;
  std::string out_dir;
  std::vector<std::string> ips;
  std::vector<std::string> dns;
  int days = 365;
};

int parse_days(const std::string& text) {
  int days = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, days);
  if (text.empty() || error != std::errc() || ptr != end || days <= 0 || days > 36500) {
    throw UsageError("--days: expected 1..36500, got \"" + text + "\"");
  }
  return days;
}

CertsOptions parse_options(const std::vector<std::string>& args) {
  const Args parsed(args, {"service", "namespace", "out-dir", "ip", "dns", "days"}, {"help"},
                    {{"-h", "--help"}});
  CertsOptions options;
  options.service = parsed.get("service").value_or("");
  options.ns = parsed.get("namespace").value_or("");
  options.out_dir = parsed.get("out-dir").value_or("");
  options.ips = parsed.all("ip");
  options.dns = parsed.all("dns");
  if (auto days = parsed.get("days")) {
    options.days = parse_days(*days);
  }
  if (options.service.empty() || options.ns.empty() || options.out_dir.empty()) {
    throw UsageError("--service, --namespace and --out-dir are required");
  }
  return options;
}

void write_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out || ::chmod(path.c_str(), mode) != 0) {
    throw std::runtime_error("cannot write " + path.string());
  }
  std::cout << "wrote " << path.string() << "\n";
}

}  // namespace

int run_certs(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
  }
  CertsOptions options;
  try {
    options = parse_options(args);
  } catch (const UsageError& error) {
    std::cerr << "sigv4-injector certs: " << error.what()
              << "\nRun 'sigv4-injector certs --help' for usage.\n";
    return kExitUsage;
  }
  try {
    server::CertRequest request;
    request.common_name = options.service + "." + options.ns + ".svc";
    request.dns_names = server::service_dns_names(options.service, options.ns);
    request.dns_names.insert(request.dns_names.end(), options.dns.begin(), options.dns.end());
    request.ip_addresses = options.ips;
    request.days = options.days;
    const server::CertBundle bundle = server::generate_certificates(request);
    const std::filesystem::path dir(options.out_dir);
    std::filesystem::create_directories(dir);
    write_file(dir / "ca.crt", bundle.ca_cert, 0644);
    write_file(dir / "tls.crt", bundle.cert, 0644);
    write_file(dir / "tls.key", bundle.key, 0600);
  } catch (const std::exception& error) {
    std::cerr << "sigv4-injector certs: " << error.what() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace sigv4::cli
