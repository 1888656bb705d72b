#!/usr/bin/env bash
# The y-websocket 1.5.4 reference server, in memory, on PORT.
exec env HOST=127.0.0.1 PORT="$PORT" node "$(dirname "$0")/node_modules/y-websocket/bin/server.js"
