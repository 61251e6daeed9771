"""Pages of the shared patient record, one module per part of the record."""
