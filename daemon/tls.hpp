// TLS for jobd's TCP connections (issue 9), with OpenSSL 3.
//
// The contexts are made once from jobd.toml's (or jobctl's) files; a load
// error names the file. A Tls drives one connection's SSL through two memory
// BIOs, so that whoever owns the socket does all the I/O (the libuv loop in
// jobd, worker or coordinator): the bytes read from the socket go to feed(),
// and the bytes feed() and write() return go to the socket, in that order.
// Not thread-safe: one Tls belongs to one connection on one thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "error.hpp"

namespace jobd::tls {

struct ContextFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using Context = std::unique_ptr<SSL_CTX, ContextFree>;

// A server's context: its certificate chain and key (PEM). With `client_ca`
// (may be empty), every client must present a certificate that CA signed.
job::Result<Context> server_context(const std::string& cert_chain, const std::string& key,
                                    const std::string& client_ca);
// A client's context: the server is verified against `ca`. With `cert` and
// `key` (both or neither), they are shown to a server that asks for one.
job::Result<Context> client_context(const std::string& ca, const std::string& cert, const std::string& key);

// Makes `ssl` (a client's) check that the server's certificate names `host`,
// a host name or an IP address (brackets of an IPv6 one are dropped).
bool expect_host(SSL* ssl, std::string host);

// This thread's queued OpenSSL errors, as one line (and cleared); with the
// certificate verification's reason if `ssl` failed one. `fallback` when
// OpenSSL queued nothing.
std::string error_text(SSL* ssl, std::string_view fallback);

class Tls {
 public:
  enum class Side { server, client };
  // A client checks the server's certificate names `host`.
  Tls(SSL_CTX* ctx, Side side, const std::string& host = {});
  ~Tls();
  Tls(const Tls&) = delete;
  Tls& operator=(const Tls&) = delete;

  // A client's first flight (its ClientHello): to send once connected.
  std::string start();

  struct Fed {
    std::string plaintext;  // what the peer said
    std::string to_send;    // handshake messages, alerts, or what write() held back
    std::string error;      // the handshake or the connection failed: send to_send, then close
    bool closed = false;    // the peer said close_notify
  };
  Fed feed(std::string_view ciphertext);

  // The records carrying `plaintext`. Before the handshake is done it is
  // kept, and goes out (encrypted) with the feed() that completes it.
  std::string write(std::string_view plaintext);

  bool established() const { return SSL_is_init_finished(ssl_) == 1; }

 private:
  std::string drain();  // what OpenSSL has written for the peer

  SSL* ssl_;
  BIO* in_;           // ciphertext from the peer, for OpenSSL to read
  BIO* out_;          // ciphertext from OpenSSL, for the peer
  std::string held_;  // plaintext written before the handshake completed
};

}  // namespace jobd::tls
