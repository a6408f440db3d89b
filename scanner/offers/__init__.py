"""Pure offer construction: what the client offers in a handshake, no I/O and no OpenSSL.

``offer`` (versions, cipher strings, ALPN, SNI, ... of one full handshake), ``credential``
(the user's certificate and key in memory) and ``keyshares`` (valid key_share values for raw
ClientHellos).
"""
