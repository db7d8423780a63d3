//! The API's OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and
//! the bodies in `schema`, and served at `/api/v1/openapi.json`. A route added to `configure`
//! belongs in `paths(...)` below too; the route-coverage test (`tests/it/api.rs`) says so.

use std::sync::LazyLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToResponse};

use super::schema::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotline API",
        version = "1",
        description = "Wage-arrears cases filed by workers over SMS, for labour inspectors and department liaisons; the labour-force register, for employment-service officers; job notices, for brokers and officers; placements and their follow-ups, for brokers and officers. Every route needs `Authorization: Bearer <token>` (`hotline token create --role admin|inspector|liaison|officer|broker --name NAME`, a broker's with `--agency`); each operation says which roles it admits. Errors are JSON `{\"error\": reason}`. Dates are the bureau's (Asia/Shanghai); deadlines count working days on the official calendar with the regional layer.\n\nThis document is generated from the server's code.",
    ),
    servers((url = "/api/v1")),
    paths(
        super::openapi,
        super::list_cases,
        super::case_detail,
        super::complainants,
        super::case_action,
        super::list_projects,
        super::project_detail,
        super::import_projects,
        super::notices::list,
        super::notices::create,
        super::notices::get,
        super::notices::update,
        super::notices::submit,
        super::notices::approve,
        super::notices::send_back,
        super::notices::reject,
        super::notices::cancel,
        super::notices::results,
        super::workers::list_workers,
        super::workers::get_worker,
        super::workers::put_worker,
        super::workers::import_workers,
        super::placements::list,
        super::placements::create,
        super::placements::get,
        super::followups::records,
        super::followups::rates,
        super::followups::list_subsidies,
        super::followups::decide,
    ),
    components(responses(Unauthorized, Unavailable)),
    modifiers(&BearerToken),
    tags(
        (name = "cases", description = "Wage-arrears cases: lists, details, identities, actions"),
        (name = "projects", description = "The construction project registry"),
        (name = "notices", description = "Job notices: brokers post them, officers approve them, workers get them by SMS"),
        (name = "workers", description = "The labour-force register (admin and officer tokens only)"),
        (name = "placements", description = "Placements of workers with employers, and their follow-ups: officers see all, brokers their agency's"),
        (name = "api", description = "About the API itself"),
    ),
)]
pub struct ApiDoc;

/// The document as served: generated once, on first request.
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    });
    &JSON
}

/// The `bearer` security scheme every operation requires: an API token from
/// `hotline token create`.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token: `hotline token create --role admin|inspector|liaison|officer|broker --name NAME`",
                    ))
                    .build(),
            ),
        );
    }
}

/// No token, or an unknown or revoked one.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
#[allow(dead_code)] // only a response in the document
pub struct Unauthorized(ErrorBody);

/// Storage unavailable; try again.
#[derive(ToResponse)]
#[allow(dead_code)] // only a response in the document
pub struct Unavailable(ErrorBody);

/// A case's reference in a route.
#[derive(IntoParams)]
#[into_params(names("reference"), parameter_in = Path)]
#[allow(dead_code)] // only a parameter in the document
pub struct Reference(
    /// The case's reference, as the workers are told it by SMS.
    #[param(pattern = "^Q[0-9]{6}$", example = "Q123459")]
    String,
);

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::from_str(json()).unwrap()
    }

    /// Every `$ref` in `v`.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{r} is not local"));
            assert!(doc.pointer(pointer).is_some(), "{r} resolves to nothing");
        }
    }

    #[test]
    fn every_operation_needs_a_bearer_token_and_says_what_it_answers() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let paths = doc["paths"].as_object().unwrap();
        assert!(!paths.is_empty());
        for (path, ops) in paths {
            for (method, op) in ops.as_object().unwrap() {
                let at = format!("{method} {path}");
                assert_eq!(
                    op["security"],
                    serde_json::json!([{ "bearer": [] }]),
                    "{at}"
                );
                assert!(op["summary"].is_string(), "{at}");
                assert!(op["operationId"].is_string(), "{at}");
                let responses = op["responses"].as_object().unwrap();
                // A success: 200, or 201 for what a POST creates.
                assert!(
                    responses.contains_key("200") || responses.contains_key("201"),
                    "{at}: no success"
                );
                for status in ["401", "503"] {
                    assert!(responses.contains_key(status), "{at}: no {status}");
                }
                for (status, r) in responses {
                    assert!(
                        r["description"].is_string() || r["$ref"].is_string(),
                        "{at} {status}"
                    );
                }
                // Every path parameter is declared, and required.
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .inspect(|p| assert_eq!(p["required"], true, "{at}"))
                            .map(|p| p["name"].as_str().unwrap())
                            .collect()
                    })
                    .unwrap_or_default();
                let in_path: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(declared, in_path, "{at}");
            }
        }
    }
}
