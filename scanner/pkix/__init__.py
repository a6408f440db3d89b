"""X.509 and OCSP judgement: certificate facts, trust stores, path validation, host names, OCSP.

Pure functions over ``cryptography`` objects (only ``trust`` reads files): no sockets, no
OpenSSL connections, so every rule can be tested with certificates built in memory.
"""
