#include "tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <new>
#include <optional>

namespace jobd::tls {

using job::Errc;
using job::Error;

namespace {

// A file a setting names, checked readable first so that the error says
// which and why in words ("No such file or directory") before OpenSSL's.
std::optional<Error> readable(const char* setting, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return Error{Errc::invalid_argument, fmt::format("{} {}: {}", setting, path, std::strerror(errno))};
  return std::nullopt;
}

Error load_error(const char* setting, const std::string& path) {
  return {Errc::invalid_argument,
          fmt::format("{} {}: {}", setting, path, error_text(nullptr, "cannot load"))};
}

job::Result<Context> new_context(const SSL_METHOD* method) {
  Context ctx(SSL_CTX_new(method));
  if (!ctx) return Error{Errc::internal, "SSL_CTX_new: " + error_text(nullptr, "failed")};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Our reads and writes are whole lines through memory BIOs: let a write
  // return once part of it is in a record, and keep no renegotiation.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

// The certificate chain and its key into `ctx`, which checks they match.
std::optional<Error> use_certificate(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (auto e = readable("tls_cert", cert)) return e;
  if (auto e = readable("tls_key", key)) return e;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) return load_error("tls_cert", cert);
  const auto mismatch = [&] {
    ERR_clear_error();
    return Error{Errc::invalid_argument, fmt::format("tls_key {} does not match tls_cert {}", key, cert)};
  };
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
    return ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH ? mismatch()
                                                                               : load_error("tls_key", key);
  if (SSL_CTX_check_private_key(ctx) != 1) return mismatch();
  return std::nullopt;
}

}  // namespace

std::string error_text(SSL* ssl, std::string_view fallback) {
  std::string text;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": the reason,
    // after the last colon, is what a person reads.
    const char* reason = std::strrchr(buf, ':');
    if (!text.empty()) text += "; ";
    text += reason && reason[1] ? reason + 1 : buf;
  }
  if (ssl)
    if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK)
      text += fmt::format("{}({})", text.empty() ? "" : " ", X509_verify_cert_error_string(v));
  return text.empty() ? std::string(fallback) : text;
}

job::Result<Context> server_context(const std::string& cert_chain, const std::string& key,
                                    const std::string& client_ca) {
  auto ctx = new_context(TLS_server_method());
  if (!ctx) return ctx.error();
  if (auto e = use_certificate(ctx->get(), cert_chain, key)) return *e;
  if (!client_ca.empty()) {
    if (auto e = readable("tls_client_ca", client_ca)) return *e;
    if (SSL_CTX_load_verify_locations(ctx->get(), client_ca.c_str(), nullptr) != 1)
      return load_error("tls_client_ca", client_ca);
    // Which CAs the server accepts, told to the client to pick its certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str()))
      SSL_CTX_set_client_CA_list(ctx->get(), names);
    SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

job::Result<Context> client_context(const std::string& ca, const std::string& cert, const std::string& key) {
  auto ctx = new_context(TLS_client_method());
  if (!ctx) return ctx.error();
  if (auto e = readable("tls_ca", ca)) return *e;
  if (SSL_CTX_load_verify_locations(ctx->get(), ca.c_str(), nullptr) != 1) return load_error("tls_ca", ca);
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  if (cert.empty() != key.empty())
    return Error{Errc::invalid_argument, "tls_cert and tls_key go together: give both or neither"};
  if (!cert.empty())
    if (auto e = use_certificate(ctx->get(), cert, key)) return *e;
  return ctx;
}

bool expect_host(SSL* ssl, std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  // An IP address must be among the certificate's IP SANs; a name among its DNS ones.
  if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1) return true;
  ERR_clear_error();  // not an address
  // SSL_set_tlsext_host_name() without its macro's C cast (the name is only read).
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

Tls::Tls(SSL_CTX* ctx, Side side, const std::string& host)
    : ssl_(SSL_new(ctx)), in_(BIO_new(BIO_s_mem())), out_(BIO_new(BIO_s_mem())) {
  if (!ssl_ || !in_ || !out_) throw std::bad_alloc();
  // An empty memory BIO asks to be read again later instead of saying EOF.
  BIO_set_mem_eof_return(in_, -1);
  BIO_set_mem_eof_return(out_, -1);
  SSL_set_bio(ssl_, in_, out_);  // ssl_ owns them from here on
  if (side == Side::server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
    expect_host(ssl_, host);
  }
}

Tls::~Tls() { SSL_free(ssl_); }

std::string Tls::drain() {
  std::string out;
  char buf[16384];
  int n;
  while ((n = BIO_read(out_, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string Tls::start() {
  SSL_do_handshake(ssl_);  // wants to read the server's answer: nothing to report yet
  return drain();
}

Tls::Fed Tls::feed(std::string_view ciphertext) {
  Fed fed;
  if (!ciphertext.empty()) BIO_write(in_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  const auto failed = [&](int rc, std::string_view fallback) {
    const int e = SSL_get_error(ssl_, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
    if (e == SSL_ERROR_ZERO_RETURN) {
      fed.closed = true;
      return true;
    }
    fed.error = error_text(ssl_, fallback);
    return true;
  };
  if (!established()) {
    const int rc = SSL_do_handshake(ssl_);
    if (rc != 1 && failed(rc, "handshake failed")) {
      fed.to_send = drain();  // an alert telling the peer why, if any
      return fed;
    }
    if (established() && !held_.empty()) fed.to_send = write(std::exchange(held_, {}));
  }
  if (established()) {
    char buf[16384];
    while (true) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        fed.plaintext.append(buf, static_cast<size_t>(n));
        continue;
      }
      failed(n, "read failed");
      break;
    }
  }
  fed.to_send += drain();
  return fed;
}

std::string Tls::write(std::string_view plaintext) {
  if (!established()) {
    held_.append(plaintext);
    return {};
  }
  while (!plaintext.empty()) {
    const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    // Memory BIOs take any amount: only a broken connection ends here, which the next read sees.
    if (n <= 0) break;
    plaintext.remove_prefix(static_cast<size_t>(n));
  }
  return drain();
}

}  // namespace jobd::tls
