//! The OpenAPI document is generated from the routing code; a snapshot makes every change to it
//! visible in review.

#[test]
fn the_openapi_document_is_unchanged() {
    let spec = serde_json::to_value(twooter::http::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", spec);
}

#[test]
fn every_route_documents_its_errors_as_problems() {
    let spec = serde_json::to_value(twooter::http::openapi()).unwrap();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not a problem"
                    );
                }
            }
        }
    }
}

/// Swagger UI lists operations by their summary: one without reads as a bare path.
#[test]
fn every_operation_has_a_summary() {
    let spec = serde_json::to_value(twooter::http::openapi()).unwrap();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.trim().is_empty(), "{method} {path} has no summary");
        }
    }
}
