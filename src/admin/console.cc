#include "admin/console.h"

#include "admin/console_assets.h"

namespace prov {
namespace {

constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string content_type(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

std::optional<HttpResponse> console_file(const std::string& path) {
  if (path == "/console") {
    HttpResponse r;
    r.status = 308;
    r.content_type.clear();
    r.headers.emplace_back("Location", "/console/");
    return r;
  }
  if (!path.starts_with("/console/")) return std::nullopt;
  std::string file = path.substr(std::string("/console").size());
  if (file == "/") file = "/index.html";
  for (const auto& asset : console_assets()) {
    if (asset.path != file) continue;
    HttpResponse r;
    r.content_type = content_type(file);
    r.body = std::string(asset.content);
    r.headers.emplace_back("Content-Security-Policy", kPolicy);
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  return std::nullopt;
}

}  // namespace prov
