//! The API's OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and
//! the bodies in `schema`, and served at `/api/v1/openapi.json`. A route added to `configure`
//! belongs in `paths(...)` below too; the route-coverage test (`tests/it/api.rs`) says so.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::RefOr;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToResponse};

use super::schema::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotline API",
        version = "1",
        description = "Wage-arrears cases filed by workers over SMS, for labour inspectors and department liaisons; the labour-force register, for employment-service officers; job notices, for brokers and officers; placements and their follow-ups, for brokers and officers. Every route needs `Authorization: Bearer <token>` (`hotline token create --role admin|inspector|liaison|officer|broker --name NAME`, a broker's with `--agency`); each operation says which roles it admits. Errors are JSON `{\"error\": reason}`. Every JSON body has only the fields its schema names (`additionalProperties: false`): a field it does not name is refused with a 400 that names it, and nothing is changed. Dates are the bureau's (Asia/Shanghai); deadlines count working days on the official calendar with the regional layer.\n\nThis document is generated from the server's code.",
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
    modifiers(&BearerToken, &ClosedBodies),
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

/// Operations whose body may be left out: an approval (then every default applies), an import
/// (an empty file, which imports nothing). utoipa makes a body optional only as `Option<T>`,
/// which it writes as `oneOf: [null, T]`: a `null` the handlers do not take.
pub const OPTIONAL_BODIES: &[&str] = &["approveNotice", "importProjects", "importWorkers"];

/// Every JSON request body is closed in the document, as the handlers read it: a field the
/// schema does not name is refused (`deny_unknown_fields`, or the field-by-field readers of
/// `workers` and `placements`). A body type that derives it already says so; this closes the
/// ones that cannot: a domain type the console also reads from forms with extra fields
/// (`PlacementInput`), a flattened body (`NoticeBody`, an `allOf` that is merged here, since
/// `additionalProperties: false` on one part of an `allOf` refuses the other part's fields),
/// and the variants of `Action`.
struct ClosedBodies;

impl Modify for ClosedBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut bodies = Vec::new();
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.post, &mut item.put, &mut item.patch]
                .into_iter()
                .flatten()
            {
                let Some(body) = &mut op.request_body else {
                    continue;
                };
                // Not a closing, but the other thing the attributes cannot say about a body.
                if op
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| OPTIONAL_BODIES.contains(&id))
                {
                    body.required = Some(utoipa::openapi::Required::False);
                }
                if let Some(schema) = body
                    .content
                    .get_mut("application/json")
                    .and_then(|c| c.schema.as_mut())
                {
                    bodies.push(schema.clone());
                    // Inline bodies are closed where they are.
                    close(schema, &mut BTreeMap::new());
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for body in bodies {
            if let RefOr::Ref(r) = body {
                let name = component_name(&r.ref_location).to_string();
                if let Some(mut schema) = components.schemas.remove(&name) {
                    close(&mut schema, &mut components.schemas);
                    components.schemas.insert(name, schema);
                }
            }
        }
    }
}

fn component_name(location: &str) -> &str {
    location.rsplit('/').next().unwrap_or(location)
}

/// `additionalProperties: false` on an object schema, on each variant of a `oneOf`, and on an
/// `allOf` merged into one object (its parts resolved in `components`).
fn close(schema: &mut RefOr<Schema>, components: &mut BTreeMap<String, RefOr<Schema>>) {
    let closed = || Some(Box::new(AdditionalProperties::FreeForm(false)));
    match schema {
        RefOr::T(Schema::Object(o)) => o.additional_properties = closed(),
        RefOr::T(Schema::OneOf(one)) => {
            for item in &mut one.items {
                close(item, components);
            }
        }
        RefOr::T(Schema::AllOf(all)) => {
            let mut merged =
                utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::Object);
            merged.description = all.description.clone();
            for part in &all.items {
                let part = match part {
                    RefOr::Ref(r) => components.get(component_name(&r.ref_location)),
                    t => Some(t),
                };
                if let Some(RefOr::T(Schema::Object(o))) = part {
                    merged.properties.extend(o.properties.clone());
                    merged.required.extend(o.required.iter().cloned());
                }
            }
            merged.additional_properties = closed();
            *schema = RefOr::T(Schema::Object(merged));
        }
        RefOr::Ref(r) => {
            let name = component_name(&r.ref_location).to_string();
            if let Some(mut s) = components.remove(&name) {
                close(&mut s, components);
                components.insert(name, s);
            }
        }
        _ => {}
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

    /// The schema `v`, with a `$ref` followed.
    fn resolved<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str() {
            Some(r) => doc.pointer(&r[1..]).unwrap(),
            None => v,
        }
    }

    /// Unknown fields: one rule for every JSON body, and the document says it (issue 13,
    /// defect 5): each body, and each variant of one, is an object that names its fields and
    /// allows no other.
    #[test]
    fn every_json_body_is_closed() {
        let doc = document();
        let mut bodies = 0;
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let Some(schema) = op
                    .pointer("/requestBody/content/application~1json/schema")
                    .map(|s| resolved(&doc, s))
                else {
                    continue;
                };
                bodies += 1;
                let variants = match schema["oneOf"].as_array() {
                    Some(vs) => vs.iter().map(|v| resolved(&doc, v)).collect(),
                    None => vec![schema],
                };
                for v in variants {
                    assert_eq!(v["type"], "object", "{method} {path}: {v}");
                    assert!(v["properties"].is_object(), "{method} {path}: {v}");
                    assert_eq!(v["additionalProperties"], false, "{method} {path}: {v}");
                }
            }
        }
        // actions, notices (create, update, approve, return, reject), workers, placements,
        // subsidy decisions
        assert_eq!(bodies, 9);
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
