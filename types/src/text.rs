//! Enums spelled as text: one table of variants and their spellings gives the wire
//! format (serde), the OpenAPI schema, the database encoding and parsing, so the three
//! cannot drift apart.

use std::fmt;

/// A spelling that names no variant, e.g. a role `"admin"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unknown {
    pub what: &'static str,
    pub value: String,
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.value)
    }
}

impl std::error::Error for Unknown {}

/// Declares an enum whose variants are spelled as the given strings everywhere. (Each
/// spelling is a `tt`: a `literal` fragment reaches derives wrapped in an invisible group,
/// and utoipa's schema derive then ignores the rename.)
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:tt, )+
        }
    ) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
        $(#[$meta])*
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::text::Unknown;

            fn from_str(value: &str) -> Result<$name, $crate::text::Unknown> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::text::Unknown { what: $what, value: value.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        #[cfg(feature = "sqlx")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        #[cfg(feature = "sqlx")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<$name, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?.parse()?)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    text_enum! {
        pub enum Colour as "colour" {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn one_spelling_for_text_and_json() {
        for colour in Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(*colour));
            assert_eq!(serde_json::to_string(colour).unwrap(), format!("\"{colour}\""));
        }
        assert_eq!(serde_json::from_str::<Colour>("\"dark_blue\"").unwrap(), Colour::DarkBlue);
        let unknown = "blue".parse::<Colour>().unwrap_err();
        assert_eq!(unknown.to_string(), "unknown colour \"blue\"");
    }

    /// The OpenAPI schema lists the spellings sent, not the variants' Rust names (a
    /// `literal` fragment reached the schema derive wrapped, and was not read as a rename).
    #[cfg(feature = "utoipa")]
    #[test]
    fn the_openapi_schema_lists_the_spellings() {
        let schema = serde_json::to_value(<Colour as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["red", "dark_blue"]));
    }
}
