// daemon/tls: contexts from PEM files and two Tls objects talking through
// strings, no socket. The certificates (a CA, a server certificate for IP
// 127.0.0.1, a client certificate, an unrelated CA) are made here with
// OpenSSL's API, in a temporary directory.
#include "tls.hpp"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace {

using jobd::tls::Tls;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/jobd-tls-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(e);
  X509_add_ext(cert, e, -1);
  X509_EXTENSION_free(e);
}

struct Identity {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* cert = X509_new();
  ~Identity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  // Signed by `issuer` (itself when null), a CA or not, with `san` if any.
  Identity(const char* cn, const Identity* issuer, bool ca, const char* san = nullptr) {
    static long serial = 1;
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* signer = issuer ? issuer->cert : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(signer));
    add_extension(cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (ca) add_extension(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (san) add_extension(cert, signer, NID_subject_alt_name, san);
    REQUIRE(X509_sign(cert, issuer ? issuer->key : key, EVP_sha256()) > 0);
  }
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;
  void save(const std::string& cert_path, const std::string& key_path) const {
    FILE* f = std::fopen(cert_path.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    if (key_path.empty()) return;
    f = std::fopen(key_path.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
};

struct Pki {
  TempDir dir;
  Pki() {
    Identity ca("test-ca", nullptr, true), other("other-ca", nullptr, true);
    Identity server("server", &ca, false, "IP:127.0.0.1"), client("client", &ca, false);
    ca.save(dir.file("ca.pem"), "");
    other.save(dir.file("other.pem"), dir.file("other.key"));
    server.save(dir.file("server.pem"), dir.file("server.key"));
    client.save(dir.file("client.pem"), dir.file("client.key"));
  }
  std::string operator[](const char* name) const { return dir.file(name); }
};

const Pki& pki() {
  static const Pki p;
  return p;
}

jobd::tls::Context server_ctx(const std::string& client_ca = {}) {
  auto ctx = jobd::tls::server_context(pki()["server.pem"], pki()["server.key"], client_ca);
  REQUIRE_MESSAGE(ctx, (ctx ? "" : ctx.error().message));
  return std::move(*ctx);
}

jobd::tls::Context client_ctx(const std::string& ca, const std::string& cert = {},
                              const std::string& key = {}) {
  auto ctx = jobd::tls::client_context(ca, cert, key);
  REQUIRE_MESSAGE(ctx, (ctx ? "" : ctx.error().message));
  return std::move(*ctx);
}

// What each side received and why it failed, once the bytes stop flowing.
struct Exchange {
  std::string at_client, at_server, client_error, server_error;
};

// Carries `to_server` and every answer back and forth until neither side has more to send.
void pump(Tls& client, Tls& server, std::string to_server, Exchange& x) {
  for (int round = 0; round < 20 && !to_server.empty(); ++round) {
    auto s = server.feed(to_server);
    x.at_server += s.plaintext;
    if (!s.error.empty()) x.server_error = s.error;
    auto c = client.feed(s.to_send);
    x.at_client += c.plaintext;
    if (!c.error.empty()) x.client_error = c.error;
    to_server = c.to_send;
    if (!s.error.empty() || !c.error.empty()) break;
  }
}

}  // namespace

TEST_CASE("a handshake, then lines both ways; what is written before it is held") {
  auto sctx = server_ctx();
  auto cctx = client_ctx(pki()["ca.pem"]);
  Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
  CHECK(server.write("{\"hello\":\"jobd\"}\n").empty());
  Exchange x;
  pump(client, server, client.start(), x);
  CHECK(x.client_error == "");
  CHECK(x.server_error == "");
  CHECK(client.established());
  CHECK(server.established());
  CHECK(x.at_client == "{\"hello\":\"jobd\"}\n");
  pump(client, server, client.write("{\"op\":\"auth\"}\n"), x);
  CHECK(x.at_server == "{\"op\":\"auth\"}\n");
  const std::string big(100000, 'x');
  auto fed = client.feed(server.write(big));
  CHECK(fed.plaintext == big);
}

TEST_CASE("plain text to a TLS server fails its handshake") {
  auto sctx = server_ctx();
  Tls server(sctx.get(), Tls::Side::server);
  auto fed = server.feed("{\"id\":1,\"op\":\"auth\",\"token\":\"t\"}\n");
  CHECK(fed.error != "");
  CHECK(fed.plaintext == "");
  CHECK_FALSE(server.established());
}

TEST_CASE("the client verifies the server's CA and its address") {
  auto sctx = server_ctx();
  SUBCASE("another CA") {
    auto cctx = client_ctx(pki()["other.pem"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
    Exchange x;
    pump(client, server, client.start(), x);
    CHECK(x.client_error.find("certificate verify failed") != std::string::npos);
    CHECK_FALSE(client.established());
  }
  SUBCASE("an address the certificate does not name") {
    auto cctx = client_ctx(pki()["ca.pem"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.2");
    Exchange x;
    pump(client, server, client.start(), x);
    CHECK(x.client_error.find("IP address mismatch") != std::string::npos);
  }
  SUBCASE("a host name the certificate does not name") {
    auto cctx = client_ctx(pki()["ca.pem"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "jobd.example.com");
    Exchange x;
    pump(client, server, client.start(), x);
    CHECK(x.client_error.find("hostname mismatch") != std::string::npos);
  }
}

TEST_CASE("with a client CA, the server asks for a certificate it signed") {
  auto sctx = server_ctx(pki()["ca.pem"]);
  SUBCASE("none") {
    auto cctx = client_ctx(pki()["ca.pem"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
    Exchange x;
    pump(client, server, client.start(), x);
    CHECK(x.server_error.find("peer did not return a certificate") != std::string::npos);
    CHECK_FALSE(server.established());
  }
  SUBCASE("one another CA signed") {
    auto cctx = client_ctx(pki()["ca.pem"], pki()["other.pem"], pki()["other.key"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
    Exchange x;
    pump(client, server, client.start(), x);
    CHECK(x.server_error.find("certificate verify failed") != std::string::npos);
  }
  SUBCASE("its") {
    auto cctx = client_ctx(pki()["ca.pem"], pki()["client.pem"], pki()["client.key"]);
    Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
    Exchange x;
    pump(client, server, client.start(), x);
    pump(client, server, client.write("ok\n"), x);
    CHECK(x.server_error == "");
    CHECK(x.at_server == "ok\n");
  }
}

TEST_CASE("TLS 1.2 at least") {
  auto sctx = server_ctx();
  auto cctx = client_ctx(pki()["ca.pem"]);
  SSL_CTX_set_min_proto_version(cctx.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(cctx.get(), TLS1_1_VERSION);
  SSL_CTX_set_security_level(cctx.get(), 0);  // or the client refuses TLS 1.1 itself
  Tls server(sctx.get(), Tls::Side::server), client(cctx.get(), Tls::Side::client, "127.0.0.1");
  Exchange x;
  pump(client, server, client.start(), x);
  CHECK(x.server_error != "");
  CHECK_FALSE(server.established());
}

TEST_CASE("load errors name the file") {
  const std::string missing = pki()["missing.pem"];
  auto r = jobd::tls::server_context(missing, pki()["server.key"], "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "tls_cert " + missing + ": No such file or directory");
  r = jobd::tls::server_context(pki()["server.pem"], pki()["client.key"], "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "tls_key " + pki()["client.key"] + " does not match tls_cert " + pki()["server.pem"]);
  r = jobd::tls::server_context(pki()["server.key"], pki()["server.key"], "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("tls_cert " + pki()["server.key"] + ": "));
  r = jobd::tls::client_context(missing, "", "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "tls_ca " + missing + ": No such file or directory");
  r = jobd::tls::client_context(pki()["ca.pem"], pki()["client.pem"], "");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("both or neither") != std::string::npos);
  CHECK(ERR_peek_error() == 0);  // nothing left queued for the next connection's error
}
