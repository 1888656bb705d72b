"""What schemathesis needs to fuzz Charter's API (server/tests/api/api_fuzz.rs): import
archives (`application/gzip`) are sent as the bytes it generates, like any binary body."""

import schemathesis

schemathesis.serializer.alias("application/gzip", "application/octet-stream")
