"""Local TLS endpoints in this process, for the demo and for behaviours no real server has."""
