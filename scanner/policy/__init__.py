"""Named TLS security policies: the catalog, policy diff, identification, compliance."""
