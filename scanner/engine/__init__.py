"""I/O: TCP connections and TLS handshakes over trio. Knows sockets and OpenSSL, not probes."""
