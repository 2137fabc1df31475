"""One module per flow; each composes the clients, staging, mapping, quality and reconciliation steps."""
