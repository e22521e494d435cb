"""The durable upload queue: intake into the spool, the SQLite store, and the upload workers."""
