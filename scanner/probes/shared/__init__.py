"""Services probes share: the raw enumeration, throwaway certificates, handshake reports."""
